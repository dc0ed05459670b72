"""The criteria files (configs/criteria/*.yaml): each study's frozen design, read whole, and how
its criteria are judged: Holm within the primary family, controls on with - without."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from abm.config.sections import load_config
from abm.errors import ConfigError
from abm.config.plugins import builtin_spec
from abm.validate.checks import evaluate
from abm.validate.design import check_arms, criteria_path, freeze_status, load_criteria
from abm.validate.studies import STUDIES, config_path
from validate_helpers import synthetic_study


@pytest.mark.parametrize("name", list(STUDIES))
def test_every_study_has_a_criteria_file_whose_arms_and_mechanisms_exist(name):
    design = load_criteria(criteria_path(name))
    assert design.study == name and design.seeds_per_arm == 30
    check_arms(design, load_config(config_path(STUDIES[name]))[0].arms, criteria_path(name))
    rules = builtin_spec().rules
    for c in design.criteria:
        assert all(rule in rules for rule in c.mechanism), (name, c.id, c.mechanism)
        assert c.kind == "prediction" or c.why, c.id


def _write(tmp_path, text):
    path = tmp_path / "study.yaml"
    path.write_text(text)
    load_criteria.cache_clear()
    return path


GOOD = """study: s
title: S
seeds_per_arm: 10
criteria:
  - {id: a, claim: c, source: s, endpoint: lesions, test: count_model, arms: [x, y]}
"""


@pytest.mark.parametrize("change, message", [
    (("seeds_per_arm: 10", "seeds_per_arm: 10\nseed: 3"), "seed: Extra inputs are not permitted"),
    (("count_model", "t_test"), "criteria.0.test: Input should be"),
    (("count_model", "equivalence_log"), "test equivalence_log needs margin"),
    (("{id: a,", "{kind: built-in, id: a,"), "a built-in criterion says why"),
    (("criteria:", "criteria: [\n"), "not valid YAML"),
])
def test_a_bad_criteria_file_is_a_one_line_error_naming_the_file(tmp_path, change, message):
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as error:
        load_criteria(path)
    assert str(path) in str(error.value) and message in str(error.value) and "\n" not in str(error.value)


def test_an_arm_the_scenario_lacks_is_refused(tmp_path):
    path = _write(tmp_path, GOOD)
    with pytest.raises(ConfigError, match="arm 'x' is not an arm"):
        check_arms(load_criteria(path), ["y"], path)


def test_freeze_status_names_the_commit_and_catches_an_edited_file(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    path = _write(tmp_path, GOOD)
    assert freeze_status(path) == "NOT FROZEN: never committed"
    git("add", path.name)
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "design")
    assert freeze_status(path).startswith("committed ") and "NOT FROZEN" not in freeze_status(path)
    used = load_criteria(path).file_sha256
    path.write_text(GOOD.replace("seeds_per_arm: 10", "seeds_per_arm: 12"))
    assert "NOT FROZEN: the file in use differs" in freeze_status(path)
    # committed after the design was read (mid-run): the design used is still not the committed one
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qam", "design changed")
    assert "NOT FROZEN" not in freeze_status(path) and "NOT FROZEN" in freeze_status(path, used)
    assert load_criteria.__wrapped__(path).file_sha256 != used


def _correia(il15_lesions, seed=0, n=30):
    return synthetic_study("correia2021", n=n, seed=seed, il15=lambda rng, i: {"seeded_lesions": float(il15_lesions(rng))},
                           stellate_activation=lambda rng, i: {"seeded_lesions": float(rng.poisson(6))})


def test_holm_runs_within_the_studys_primary_family_only():
    design = load_criteria(criteria_path("correia2021"))
    checks = evaluate(design, design.title, _correia(lambda rng: rng.poisson(2)), {}, "2d", quick=False)
    family = [c for c in checks if c.in_family]
    assert {c.criterion.id for c in family} == {"baseline_dormancy", "stellate_activation_outgrowth",
                                                "il15_fewer_lesions"}
    il15 = next(c for c in checks if c.criterion.id == "il15_fewer_lesions")
    assert il15.p_adjusted == pytest.approx(min(1.0, il15.p_adjusted), abs=0) and il15.p_adjusted >= il15.inference.p
    assert il15.status == "PASS (no control run)"  # a rate ratio of 1/3 in 30 vs 30 runs
    outside = [c for c in checks if not c.in_family]
    assert outside and all(c.p_adjusted is None for c in outside)
    secondary = next(c for c in checks if c.criterion.id == "il15_later_outgrowth")
    assert secondary.status.startswith("secondary:")
    three_d = evaluate(design, design.title, _correia(lambda rng: rng.poisson(2)), {}, "3d", quick=False)
    assert three_d and not any(c.in_family for c in three_d)  # a replication is not counted again


def test_the_control_is_judged_on_the_effect_with_minus_without_its_mechanism():
    design = load_criteria(criteria_path("correia2021"))
    with_it = _correia(lambda rng: rng.poisson(2))
    gone = {("nk.il15_proliferation",): _correia(lambda rng: rng.poisson(6), seed=1)}
    same = {("nk.il15_proliferation",): _correia(lambda rng: rng.poisson(2), seed=1)}

    def il15(controls):
        checks = evaluate(design, design.title, with_it, controls, "2d", quick=False)
        return next(c for c in checks if c.criterion.id == "il15_fewer_lesions")

    assert il15(gone).status == "validated" and il15(gone).control.high < 0
    assert il15(same).status == "passes without its mechanism"
    nan = {("nk.il15_proliferation",): {arm: [{**run, "seeded_lesions": float("nan")} for run in runs]
                                         for arm, runs in with_it.items()}}
    assert il15(nan).status == "PASS (control not testable)" and il15(nan).control.state == "not testable"


def test_every_result_states_its_minimum_detectable_effect():
    design = load_criteria(criteria_path("correia2021"))
    checks = evaluate(design, design.title, _correia(lambda rng: rng.poisson(2)), {}, "2d", quick=False)
    il15 = next(c for c in checks if c.criterion.id == "il15_fewer_lesions")
    assert il15.mde.startswith("rate ratio 0.")
    assert np.isfinite(float(il15.mde.split()[2]))
