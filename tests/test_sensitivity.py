"""abm sensitivity: factor selection, log-uniform +/-2x bounds, the SALib wiring on a function
with a known answer, the criteria's effects and verdicts per design point (from the criteria
files), robustness, and one tiny end-to-end design."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from abm.cli import main
from abm.errors import ConfigError
from abm.config.parameters import load_parameter_set
from abm.sensitivity import conclusions, design, factors, readouts
from abm.sweep.engine import engine_file as _engine_file
from abm.validate.design import Criterion, criteria_path, load_criteria
from abm.validate.studies import STUDIES, config_path

SET = load_parameter_set(config_path(STUDIES["chan2020"]).parent / "parameters" / "tissue_model.yaml")


def _selection(study: str) -> factors.Selection:
    path = config_path(STUDIES[study])
    return factors.select(path, readouts.needed_arms(readouts.screened_criteria(study)), {})


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
    assert "cells.tumor.death_rate_per_h (calibrated)" in correia.held
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
    y[1] = np.nan  # a point where the effect does not exist drops its trajectory only
    y[3 * (len(fs) + 1)] = np.inf  # an unbounded log ratio too
    table_, used = design.morris_indices(fs, X, y)
    assert used == 6 and table_["mu_star"].notna().all()


def test_sobol_finds_the_only_factor_that_matters():
    fs = _fake_factors()
    X = design.sample(fs, "sobol", 256)
    indices = design.indices("sobol", fs, X, pd.DataFrame({"point": range(len(X)), "y": np.exp(X[:, 1])}))
    st = indices.set_index("factor")["ST"]
    assert st["cells.x.f1"] > 0.9 and st["cells.x.f0"] < 0.05 and st["cells.x.f2"] < 0.05


def _criterion(study: str, criterion_id: str) -> Criterion:
    return next(c for c in load_criteria(criteria_path(study)).criteria if c.id == criterion_id)


def _point(**by_arm) -> dict:
    """One design point's runs: {arm: [metrics of each seed's run]} from {arm: [value of each seed]}."""
    key = by_arm.pop("key")
    return {arm: [{key: float(v)} for v in values] for arm, values in by_arm.items()}


INVASION = _criterion("chan2020", "healthy_nk_lower_invasion")  # mann_whitney, healthy_nk < no_nk


def test_a_criterion_holding_at_3_of_4_points_is_robust_at_share_0_75():
    points = [_point(key="inverse_circularity", healthy_nk=[2, 3], no_nk=[4, 5]),  # log(2.5 / 4.5) < 0
              _point(key="inverse_circularity", healthy_nk=[1, 1], no_nk=[3, 3]),
              _point(key="inverse_circularity", healthy_nk=[6, 6], no_nk=[3, 3]),  # flips
              _point(key="inverse_circularity", healthy_nk=[4, 4], no_nk=[5, 5])]
    effects, holds, scales = readouts.measure_design([INVASION], points)
    assert effects[INVASION.id].tolist() == pytest.approx([math.log(2.5 / 4.5), math.log(1 / 3), math.log(2),
                                                           math.log(0.8)])
    assert holds[INVASION.id].tolist() == [1.0, 1.0, 0.0, 1.0]
    assert scales[INVASION.id] == "log ratio of means"
    verdict = conclusions.judge(INVASION, holds[INVASION.id], scales[INVASION.id], readouts.claimed_side(INVASION))
    assert (verdict.points, verdict.holding, verdict.flipped, verdict.share_holding) == (4, [0, 1, 3], [2], 0.75)
    assert verdict.status == "flips at 1 of 4 points (25%)"
    row = conclusions.robustness_table([verdict]).iloc[0].to_dict()
    assert row == {"criterion": "healthy_nk_lower_invasion", "kind": "prediction", "points": 4,
                   "points_holding": 3, "points_not_measurable": 0, "share_holding": 0.75}


def test_drivers_are_the_factors_that_move_the_effect_with_their_values_at_flips():
    holds = np.array([1.0, 1.0, 0.0, np.nan, 1.0, 0.0])
    effects = np.array([-1.0, -2.0, 0.5, np.nan, -3.0, 0.25])
    verdict = conclusions.judge(INVASION, holds, "log ratio of means", "< 0")
    assert verdict.flipped == [2, 5] and verdict.measured == 5
    assert verdict.status == "flips at 2 of 5 points (40%) (1 of 6 points not measurable)"
    fs = _fake_factors(2)
    design_values = pd.DataFrame({"point": range(6), fs[0].key: [0.5, 0.5, 2, 1, 0.5, 2],
                                  fs[1].key: [1, 2, 1, 1, 1, 1]})
    indices = pd.DataFrame({"readout": INVASION.id, "factor": [fs[0].key, fs[1].key], "mu_star": [3.0, 0.5]})
    conclusions.explain(verdict, indices, design_values, {f.key: 1.0 for f in fs}, effects)
    assert [d["factor"] for d in verdict.drivers] == [fs[0].key, fs[1].key]
    assert verdict.drivers[0]["at_flips"] == 2.0 and verdict.drivers[0]["at_holds"] == 0.5
    assert [(p["point"], p["value"]) for p in verdict.flipping_points] == [(2, 0.5), (5, 0.25)]
    flat = pd.DataFrame({"readout": INVASION.id, "factor": [fs[0].key, fs[1].key], "mu_star": [0.0, np.nan]})
    assert conclusions.strongest(flat, INVASION.id).empty  # an effect nothing moved has no drivers


def test_undefined_effects_are_not_measurable_never_holding():
    points = [_point(key="inverse_circularity", healthy_nk=[1], no_nk=[3]),
              _point(key="inverse_circularity", healthy_nk=[float("nan")], no_nk=[3]),  # no value in the arm
              _point(key="inverse_circularity", healthy_nk=[0], no_nk=[0]),  # log(0 / 0)
              None,  # a failed run
              {"no_nk": [{"inverse_circularity": 1.0}]}]  # an arm without runs: a KeyError, not a crash
    effects, holds, _ = readouts.measure_design([INVASION], points)
    assert holds[INVASION.id].iloc[0] == 1.0 and holds[INVASION.id].iloc[1:].isna().all()
    verdict = conclusions.judge(INVASION, holds[INVASION.id], "", "< 0")
    assert (verdict.measured, verdict.share_holding) == (1, 0.2)
    assert verdict.status == "holds at every point: survives the whole range (4 of 5 points not measurable)"
    assert verdict.robustness()["points_not_measurable"] == 4
    nothing = conclusions.judge(INVASION, [float("nan")] * 3, "", "< 0")
    assert nothing.status == "not measurable at any point" and nothing.share_holding == 0
    # an unbounded log ratio (one arm's mean is 0) has a sign: it is judged, and Morris leaves it out
    unbounded = readouts.measure(INVASION, _point(key="inverse_circularity", healthy_nk=[0], no_nk=[3]))
    assert unbounded.effect == -math.inf and unbounded.holds == 1.0


def test_each_test_kind_is_judged_on_its_claimed_side():
    caspase = _criterion("chan2020", "caspase_without_nk")  # target 0.43 +/- 0.10
    assert readouts.measure(caspase, _point(key="caspase_any", no_nk=[1, 0, 0, 1, 0])).holds == 1.0  # 0.4
    assert readouts.measure(caspase, _point(key="caspase_any", no_nk=[1, 1, 0, 1, 0])).holds == 0.0  # 0.6
    dormancy = _criterion("correia2021", "baseline_dormancy")  # binomial: share grown out < 0.5
    grown = lambda *outgrowth: {"baseline": [{"first_outgrowth_h": h} for h in outgrowth]}  # noqa: E731
    assert readouts.measure(dormancy, grown(float("nan"), float("nan"), 100.0)).holds == 1.0
    assert readouts.measure(dormancy, grown(100.0, 200.0, float("nan"))).holds == 0.0
    later = _criterion("correia2021", "il15_later_outgrowth")  # logrank, later: restricted mean time > 0
    times = lambda il15, act: {"il15": [{"first_outgrowth_h": il15, "end_h": 336.0}],  # noqa: E731
                               "stellate_activation": [{"first_outgrowth_h": act, "end_h": 336.0}]}
    assert readouts.measure(later, times(float("nan"), 100.0)).effect == 236.0  # no outgrowth: censored at the end
    assert readouts.measure(later, times(50.0, 100.0)).holds == 0.0
    equivalent = _criterion("chan2020", "exposed_nk_invasion_as_no_nk")  # margin: 0.5 x abs(log(healthy / none))
    runs = _point(key="inverse_circularity", exposed_nk=[4.4], no_nk=[4.0], healthy_nk=[2.0])
    assert readouts.measure(equivalent, runs).holds == 1.0  # abs(log 1.1) < 0.5 log 2
    runs["exposed_nk"] = [{"inverse_circularity": 6.0}]
    assert readouts.measure(equivalent, runs).holds == 0.0
    runs["healthy_nk"] = [{"inverse_circularity": float("nan")}]  # no margin: not measurable
    assert math.isnan(readouts.measure(equivalent, runs).holds)
    assert readouts.claimed_side(equivalent) == "abs < 0.5 x abs(log ratio healthy_nk / no_nk)"
    assert readouts.claimed_side(dormancy) == "< 0.5" and readouts.claimed_side(later) == "> 0"


def test_what_is_screened_comes_from_the_criteria_files():
    from abm.config.sections import load_config

    for study in STUDIES:
        criteria = readouts.screened_criteria(study)
        assert [c.id for c in criteria] == [c.id for c in load_criteria(criteria_path(study)).criteria
                                            if c.dimensions[0] == "2d"]
        arms = readouts.needed_arms(criteria)
        assert set(arms) <= set(load_config(config_path(STUDIES[study]))[0].arms)
        assert arms == list(dict.fromkeys(arm for c in criteria for arm in c.arms))  # first-use order
    assert readouts.needed_arms(readouts.screened_criteria("chan2020")) == [
        "no_nk", "healthy_nk", "exposed_nk", "exposed_nk_tigit_klrg1_block"]


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
    for name in ("design.csv", "readouts.csv", "robustness.csv", "indices.csv", "indices.png", "report.md"):
        assert (folder / name).stat().st_size > 0
    design_csv = pd.read_csv(folder / "design.csv")
    assert len(design_csv) == 4  # 2 trajectories x (1 factor + 1)
    effects = pd.read_csv(folder / "readouts.csv")
    ids = [c.id for c in load_criteria(criteria_path("chan2020")).criteria]
    assert list(effects.columns) == ["point", *ids] and effects.notna().all().all()  # one column per criterion
    robustness = pd.read_csv(folder / "robustness.csv")
    assert robustness["criterion"].tolist() == ids and (robustness["points"] == 4).all()
    assert (robustness["points_holding"] + robustness["points_not_measurable"] <= 4).all()
    assert set(pd.read_csv(folder / "indices.csv")["factor"]) == {"cells.nk.move_rate_per_h"}
    report = (folder / "report.md").read_text()
    assert "`healthy_nk_lower_invasion`: healthy NK cells lower organoid invasion" in report
    runs = sorted((folder / "runs").rglob("seed2000.h5"))
    distinct = len(design_csv.drop(columns="point").drop_duplicates())
    # a point repeated in the design shares its runs: the pre-culture, 4 arms and their 4 colony assays
    assert len(runs) == distinct * 9
    stamps = [p.stat().st_mtime_ns for p in runs]
    assert main(argv) == 0  # resumable: every run complete with the same config is reused
    assert [p.stat().st_mtime_ns for p in runs] == stamps
    assert pd.read_csv(folder / "readouts.csv").equals(effects)
