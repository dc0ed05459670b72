"""A config is checked whole before anything runs (every arm, the validation's quick overrides),
and numbers are numbers: booleans, numeric strings, NaN and infinity are refused everywhere.
Each error is one line naming the file, the arm and the key, with exit status 2."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest
import yaml

from abm.config.sections import load_config
from abm.errors import ConfigError
from run_helpers import ROOT, scenario_raw

SCENARIOS = sorted(p for p in (ROOT / "configs").glob("*.yaml") if yaml.safe_load(p.read_text()).get("arms"))


def _cli(*args, timeout=300):
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "abm", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)
    return done, time.monotonic() - start


def _edited(tmp_path, source, edit):
    raw = scenario_raw(source)
    edit(raw)
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.mark.parametrize("source", SCENARIOS, ids=[p.stem for p in SCENARIOS])
@pytest.mark.parametrize("bad, message", [
    ({"cells.nk.no_such_rate": 1.0}, "cells.nk.no_such_rate: unknown key"),
    ({"placement.0.count": -3}, "placement.0.count: Input should be greater than or equal to 0"),
    ({"interventions.nk_depletion": {"start_h": "soon"}}, "interventions.nk_depletion.start_h: Input should be a valid number"),
])
def test_a_bad_arm_fails_a_run_of_another_arm(tmp_path, source, bad, message):
    """Every scenario's last arm made bad; the run of the base (no --arm) stops at once."""
    def edit(raw):
        last = list(raw["arms"])[-1]
        raw["arms"][last] = {**(raw["arms"][last] or {}), **bad}
    path = _edited(tmp_path, source, edit)
    last = list(yaml.safe_load(path.read_text())["arms"])[-1]
    with pytest.raises(ConfigError) as error:
        load_config(path, check_sources=False)  # a stage config's source runs are another test's matter
    text = str(error.value)
    assert f"{path} (arm {last}" in text and message in text and "\n" not in text


def test_the_command_line_run_without_arm_catches_a_bad_arm(tmp_path):
    path = _edited(tmp_path, ROOT / "configs" / "correia2021_liver.yaml",
                   lambda raw: raw["arms"]["ifng_blind"].update({"cells.nk.no_such_rate": 1.0}))
    done, seconds = _cli("run", path, "--out", tmp_path / "x.h5")
    assert done.returncode == 2 and seconds < 120  # a hang guard: answered before any step, on a busy machine too
    lines = done.stderr.strip().splitlines()
    assert lines == [f"abm: error: {path} (arm ifng_blind): cells.nk.no_such_rate: unknown key"]
    assert not (tmp_path / "x.h5").exists()


def test_bad_quick_overrides_fail_at_once(tmp_path):
    path = _edited(tmp_path, ROOT / "configs" / "correia2021_liver.yaml",
                   lambda raw: raw["validation"]["quick_overrides"].update({"lattice.shape": [float("nan"), 60]}))
    with pytest.raises(ConfigError, match=r"\(validation.quick_overrides\): lattice.shape.0: Input should be a valid "
                                          r"integer \(got nan\)"):
        load_config(path)


def test_abm_validate_checks_every_study_config_before_any_run(tmp_path, monkeypatch):
    from abm.validate import runner, studies

    for study in studies.STUDIES.values():
        for part in (study, study.before, study.after):  # the study's config and its protocol's stages
            if part is not None:
                shutil.copy(studies.config_path(part), tmp_path / part.config)
    shutil.copytree(ROOT / "configs" / "parameters", tmp_path / "parameters")
    _edited(tmp_path, tmp_path / "northwestern2025_clustering.yaml",
            lambda raw: raw["arms"]["anti_vla4"].update({"interventions.anti_vla4.efficiency": 1.5}))
    monkeypatch.setattr(studies, "CONFIGS", tmp_path)
    with pytest.raises(ConfigError, match=r"\(arm anti_vla4\): interventions.anti_vla4.efficiency: Input should be "
                                          r"less than or equal to 1"):
        runner.plan(["chan2020", "nw2025_clustering"], quick=True, out_dir=str(tmp_path / "out"))


NUMBER_KEYS = [  # one key of every kind of number field
    "cells.nk.kill_probability_per_contact", "cells.tumor.division_rate_per_h", "time.dt_min", "lattice.dx_um",
    "fields.ifng.decay_per_min", "placement.1.inner_radius_um", "placement.0.count", "seed",
    "output.snapshot_every_steps", "interventions.il15.production_per_min",
]


@pytest.mark.parametrize("key", NUMBER_KEYS)
@pytest.mark.parametrize("value", [True, "0.5", float("nan"), float("inf")], ids=["bool", "string", "nan", "inf"])
def test_numbers_are_numbers(key, value):
    overrides = {key: value}
    if key.startswith("interventions.il15"):
        overrides = {"interventions.il15": {"production_per_min": value}}
    with pytest.raises(ConfigError) as error:
        load_config(str(ROOT / "configs" / "default.yaml"), overrides)
    assert key in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("key, value", [
    ("lattice.shape", [100, float("nan")]), ("lattice.shape", [100, True]), ("placement.0.center_um", [float("inf"), 1]),
    ("placement.0.center_um", ["1", 2.0]),
])
def test_numbers_in_lists_are_numbers(key, value):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.") + r"\.\d"):
        load_config(str(ROOT / "configs" / "default.yaml"), {key: value})


def test_the_command_line_refuses_a_boolean_for_a_rate(tmp_path):
    done, _ = _cli("run", ROOT / "configs" / "default.yaml", "--set", "cells.tumor.division_rate_per_h=true",
                   "--out", tmp_path / "x.h5")
    assert done.returncode == 2 and done.stderr.strip() == (
        f"abm: error: {ROOT / 'configs' / 'default.yaml'}: cells.tumor.division_rate_per_h: Input should be a valid "
        "number (got True)")
