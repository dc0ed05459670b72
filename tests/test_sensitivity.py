"""abm sensitivity: factor selection, log-uniform +/-2x bounds, the SALib wiring on a function
with a known answer, the conclusion-flip logic, and one tiny end-to-end design."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from abm.cli import main
from abm.errors import ConfigError
from abm.parameters import load_parameter_set
from abm.sensitivity import conclusions, design, factors, table
from abm.sensitivity.cli import _engine_file
from abm.sensitivity.readouts import Claim, Readout, below, claim, difference, dose_rho, ratio
from abm.validate.criteria import CXCR4_DOSE_ARMS
from abm.validate.mechanisms import MECHANISMS
from abm.validate.studies import STUDIES, config_path

SET = load_parameter_set(config_path(STUDIES["chan2020"]).parent / "parameters" / "tissue_model.yaml")


def _selection(study: str) -> factors.Selection:
    from abm.config import load_config

    path = config_path(STUDIES[study])
    arms = table.needed_arms(table.READOUTS[study](load_config(path)[0].validation))
    return factors.select(path, arms, {})


@pytest.fixture(scope="module")
def chan():
    return _selection("chan2020")


@pytest.fixture(scope="module")
def correia():
    return _selection("correia2021")


def test_factors_are_assumed_parameters_that_active_rules_read(chan, correia):
    for selection in (chan, correia):
        for factor in selection.factors:
            assert SET.parameters[factor.key].label == "assumed"
            assert factor.read_by
        assert not {f.key for f in selection.factors} & set(selection.unread)
    keys = {f.key for f in correia.factors}
    assert "cells.nk.cxcl12_quiescence_half_max" in keys  # read by nk.cxcl12_quiescence, active in the liver
    assert "cells.stellate.cxcl12_secretion_per_min" in keys
    assert "fields.il15.decay_per_min" in keys  # the liver simulates IL-15
    chan_keys = {f.key for f in chan.factors}
    assert "cells.nk.cxcl12_quiescence_half_max" not in chan_keys  # no CXCL12 in a collagen gel: rule inactive
    assert "cells.nk.cxcl12_quiescence_half_max" in chan.unread
    assert not any(key.startswith("fields.il15") for key in chan_keys)
    assert "cells.stellate.activation_rate_per_h" in chan.unread  # no stellate cells placed


def test_calibrated_and_measured_are_held_and_switches_zeros_absent_types_excluded(chan, correia):
    assert "cells.nk.kill_probability_per_contact (measured)" in correia.held
    assert "cells.nk.proliferation_rate_per_h (calibrated)" in correia.held
    assert not any(f.key == "cells.nk.kill_probability_per_contact" for f in correia.factors)
    reasons = {e.key: e.reason for e in correia.excluded}
    assert reasons["cells.tumor.ifng_responsive"].startswith("a switch")
    assert reasons["cells.tumor.leader_rate_per_h"].startswith("zero in this tissue")  # 0 in the liver
    assert reasons["cells.tcell.nk_suppression"].startswith("no tcell cells")
    assert all(not isinstance(f.value, bool) and f.value > 0 for s in (chan, correia) for f in s.factors)


def test_tissue_specific_values_are_the_nominal_values(chan, correia):
    by_key = {f.key: f for f in chan.factors}
    assert by_key["cells.tumor.leader_rate_per_h"].value == 0.01  # the collagen-gel value (0 elsewhere)
    nk_death = {f.key: f for f in correia.factors}["cells.nk.death_rate_per_h"]
    assert nk_death.value == SET.parameters["cells.nk.death_rate_per_h"].tissues["liver"].value
    assert "cells.nk.death_rate_per_h" in chan.unread  # 0 outside the liver: the death rule is off there


def test_bounds_are_twofold_log_uniform_capped_and_rounded(chan):
    by_key = {f.key: f for f in chan.factors}
    move = by_key["cells.nk.move_rate_per_h"]
    assert (move.low, move.high) == (5.0, 20.0)
    assert by_key["cells.tumor.invasive_persistence"].high == 1.0  # a probability: 0.9 * 2 capped at 1
    hill = by_key["cells.tumor.ifng_dormancy_hill_n"]
    assert hill.integer and (hill.low, hill.high) == (1.0, 4.0)
    X = design.sample(chan.factors, "morris", 10)
    table_ = design.design_table(chan.factors, X)
    levels = sorted(set(np.round(table_["cells.nk.move_rate_per_h"] / move.value, 6)))
    assert levels == pytest.approx([2 ** -1, 2 ** (-1 / 3), 2 ** (1 / 3), 2.0])  # symmetric in log space
    assert set(table_["cells.tumor.ifng_dormancy_hill_n"]) <= {1, 2, 3, 4}
    assert all(isinstance(v, int) for v in table_["cells.tumor.ifng_dormancy_hill_n"].tolist())
    sobol = np.log(design.design_table(chan.factors, design.sample(chan.factors, "sobol", 64))
                   ["cells.nk.move_rate_per_h"] / move.value)
    assert sobol.min() >= -math.log(2) - 1e-9 and sobol.max() <= math.log(2) + 1e-9
    assert abs(sobol.mean()) < 0.05  # uniform in log: centred on the nominal value


def _fake_factors(n=3):
    return [factors.Factor(f"cells.x.f{i}", 1.0, 0.5, 2.0, False, ("x.rule",)) for i in range(n)]


def test_morris_ranks_a_function_with_a_known_answer():
    fs = _fake_factors()
    X = design.sample(fs, "morris", 8)
    y = 10 * X[:, 0] + 1 * X[:, 1] + 0 * X[:, 2]  # linear in the log values
    values = pd.DataFrame({"point": range(len(y)), "y": y})
    result = design.indices("morris", fs, X, values).set_index("factor")
    # an elementary effect of a linear function is its slope times the log range (SALib: dY / delta)
    assert result.loc["cells.x.f0", "mu_star"] == pytest.approx(10 * 2 * math.log(2))
    assert result.loc["cells.x.f1", "mu_star"] == pytest.approx(2 * math.log(2))
    assert result.loc["cells.x.f2", "mu_star"] == 0
    assert (result["used"] == 8).all()
    y[1] = np.nan  # a point where the read-out does not exist drops its trajectory only
    table_, used = design.morris_indices(fs, X, y)
    assert used == 7 and table_["mu_star"].notna().all()


def test_sobol_finds_the_only_factor_that_matters():
    fs = _fake_factors()
    X = design.sample(fs, "sobol", 256)
    indices = design.indices("sobol", fs, X, pd.DataFrame({"point": range(len(X)), "y": np.exp(X[:, 1])}))
    st = indices.set_index("factor")["ST"]
    assert st["cells.x.f1"] > 0.9 and st["cells.x.f0"] < 0.05 and st["cells.x.f2"] < 0.05


def test_conclusion_flips_where_the_readout_crosses_its_target():
    readout = Readout("effect", ("a", "b"), lambda r: 0.0, (claim("a below b", "criterion", below(0)),))
    y = np.array([-1.0, -2.0, 0.5, np.nan, -3.0, 0.25])
    verdict = conclusions.judge(readout, readout.claims[0], y, "prediction")
    assert verdict.flipped == [2, 5] and verdict.measured == 5
    assert verdict.status == "flips at 2 of 5 points (40%) (1 of 6 points not measurable)"
    fs = _fake_factors(2)
    design_values = pd.DataFrame({"point": range(6), fs[0].key: [0.5, 0.5, 2, 1, 0.5, 2],
                                  fs[1].key: [1, 2, 1, 1, 1, 1]})
    indices = pd.DataFrame({"readout": "effect", "factor": [fs[0].key, fs[1].key], "mu_star": [3.0, 0.5]})
    conclusions.explain(verdict, indices, design_values, {f.key: 1.0 for f in fs}, y)
    assert [d["factor"] for d in verdict.drivers] == [fs[0].key, fs[1].key]
    assert verdict.drivers[0]["at_flips"] == 2.0 and verdict.drivers[0]["at_holds"] == 0.5
    assert [p["point"] for p in verdict.flipping_points] == [2, 5]
    flat = pd.DataFrame({"readout": "effect", "factor": [fs[0].key, fs[1].key], "mu_star": [0.0, np.nan]})
    assert conclusions.strongest(flat, "effect").empty  # a read-out nothing moved has no drivers
    holding = conclusions.judge(readout, readout.claims[0], np.array([-1.0, -0.1]), "prediction")
    assert holding.status.startswith("holds at every point")


def test_readouts_are_effects_between_arm_means():
    runs = {"a": [{"m": 1.0}, {"m": 3.0}], "b": [{"m": 4.0}, {"m": float("nan")}], "z": [{"m": 0.0}]}
    assert difference("a", "b", "m")(runs) == -2.0  # means over seeds; a run without the value dropped
    assert ratio("a", "b", "m")(runs) == 0.5
    assert math.isnan(ratio("a", "z", "m")(runs))
    falling = {arm: [{"lesions": 10 - 3 * rank}] for rank, arm in enumerate(CXCR4_DOSE_ARMS)}
    assert dose_rho(falling) == pytest.approx(-1.0)


def test_every_claim_names_a_criterion_of_its_study():
    from abm.config import load_config

    for study, build in table.READOUTS.items():
        config = load_config(config_path(STUDIES[study]))[0]
        readouts = build(config.validation)
        assert set(table.needed_arms(readouts)) <= set(config.arms)
        for readout in readouts:
            for c in readout.claims:
                assert isinstance(c, Claim) and c.criterion in MECHANISMS[study], (study, c.criterion)


def test_bad_engine_file_and_factor_are_one_line_errors(tmp_path):
    bad = tmp_path / "engine.yaml"
    bad.write_text("engine: {kind: slurm, cores: 0}\n")
    with pytest.raises(ConfigError, match=r"engine.yaml: engine.cores: "):
        _engine_file(bad)
    assert main(["sensitivity", "chan2020", "--only", "cells.nk.nope", "--out", str(tmp_path)]) == 2


def test_quick_design_writes_its_files_and_reuses_its_runs(tmp_path, capsys):
    argv = ["sensitivity", "chan2020", "--quick", "--only", "cells.nk.move_rate_per_h", "--workers", "1",
            "--out", str(tmp_path)]
    assert main(argv) == 0
    folder = tmp_path / "chan2020"
    for name in ("design.csv", "readouts.csv", "indices.csv", "indices.png", "report.md"):
        assert (folder / name).stat().st_size > 0
    design_csv = pd.read_csv(folder / "design.csv")
    assert len(design_csv) == 4  # 2 trajectories x (1 factor + 1)
    readouts = pd.read_csv(folder / "readouts.csv")
    assert "inverse_circularity healthy_nk - no_nk" in readouts.columns and readouts.notna().all().all()
    assert set(pd.read_csv(folder / "indices.csv")["factor"]) == {"cells.nk.move_rate_per_h"}
    report = (folder / "report.md").read_text()
    assert "healthy NK lower inverse circularity than no NK" in report
    runs = sorted((folder / "runs").rglob("seed2000.h5"))
    distinct = len(design_csv.drop(columns="point").drop_duplicates())
    # a point repeated in the design shares its runs: the pre-culture, 4 arms and their 4 colony assays
    assert len(runs) == distinct * 9
    stamps = [p.stat().st_mtime_ns for p in runs]
    assert main(argv) == 0  # resumable: every run complete with the same config is reused
    assert [p.stat().st_mtime_ns for p in runs] == stamps
    assert pd.read_csv(folder / "readouts.csv").equals(readouts)
