"""The Mesa reference of the minimal rules (benchmarks/mesa_reference.py) against abm.TissueModel.

Criterion: the mean tumor count over seeds agrees within 10 % at every 10th step. Ours is
synchronous (claim-then-resolve), Mesa's shuffle_do sequential; at the minimal rates that
changes the mean by about 1-2 %.

Fast test: 12 seeds on 50 x 50 (500 tumor, 50 NK cells) for 100 steps. The standard error of
the relative difference of the two means is at most ~2 % there, so 10 % is >= 5 standard errors
away: sampling noise cannot make it fail. That it can fail is shown with a Mesa run whose kill
probability is 0.5 instead of 0.05 (the means then differ by > 50 %).
Slow test (-m slow): the issue's criterion, 30 seeds, the config's 100 x 100, 200 steps.
"""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "minimal_rules.yaml"
TOLERANCE = 0.10


def _load_reference():
    spec = importlib.util.spec_from_file_location("mesa_reference", ROOT / "benchmarks" / "mesa_reference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("mesa_reference", module)
    spec.loader.exec_module(module)
    return module


mesa_reference = _load_reference()

FAST = {"lattice.shape": [50, 50]}
FAST_SEEDS = range(1, 13)
FAST_STEPS = 100


@pytest.fixture(scope="module")
def fast_runs():
    """Tumor counts (seeds x steps+1) of ours, of Mesa, and of Mesa with a tenfold kill probability."""
    ours = np.stack([mesa_reference.our_counts(CONFIG, s, FAST_STEPS, FAST) for s in FAST_SEEDS])
    theirs = np.stack([mesa_reference.run_counts(CONFIG, s, FAST_STEPS, FAST) for s in FAST_SEEDS])
    deadlier = np.stack([mesa_reference.run_counts(CONFIG, s, FAST_STEPS,
                                                   {**FAST, "cells.nk.kill_probability_per_contact": 0.5})
                         for s in FAST_SEEDS])
    return ours, theirs, deadlier


def test_mesa_model_starts_from_our_placement_with_the_configs_rates():
    from abm import TissueModel
    from abm.config.plugins import builtin_spec

    TYPE_CODE = builtin_spec().type_code

    model = mesa_reference.MesaMinimalModel(CONFIG, 7, FAST)
    ours = TissueModel(str(CONFIG), device="cpu", seed=7, overrides=FAST)
    table = ours.agents_table()
    for agent_class, code_name in ((mesa_reference.TumorCell, "tumor"), (mesa_reference.NKCell, "nk")):
        mesa_sites = sorted(np.ravel_multi_index(agent.cell.coordinate, (50, 50))
                            for agent in model.agents_by_type[agent_class])
        our_sites = sorted(table["site"][table["cell_type"] == TYPE_CODE[code_name]].tolist())
        assert mesa_sites == our_sites
    assert model.count(mesa_reference.TumorCell) == 500 and model.count(mesa_reference.NKCell) == 50
    assert model.p_div == pytest.approx(1 - np.exp(-0.035 * 0.1))
    assert model.p_die == pytest.approx(1 - np.exp(-0.01 * 0.1))
    assert model.p_move == pytest.approx(1 - np.exp(-10.0 * 0.1))
    assert model.kill_probability == 0.05
    counts = mesa_reference.run_counts(CONFIG, 7, 5, FAST)
    assert counts.shape == (6,) and counts[0] == 500


def test_mesa_model_refuses_mechanisms_beyond_the_minimal_rules():
    with pytest.raises(ValueError, match="conjugation_time_min"):
        mesa_reference.MesaMinimalModel(CONFIG, 1, {**FAST, "cells.nk.conjugation_time_min": 30.0})


def test_mean_tumor_counts_agree_within_ten_percent(fast_runs):
    ours, theirs, _ = fast_runs
    result = mesa_reference.compare_counts(ours, theirs, every=10, tolerance=TOLERANCE)
    print("\n" + mesa_reference.format_comparison(result))
    # Sampling noise of the means is well below the tolerance, so the test cannot flake.
    assert result["max_relative_se"] < TOLERANCE / 4
    assert result["agree"], mesa_reference.format_comparison(result)
    assert result["max_relative_difference"] <= TOLERANCE


def test_the_comparison_fails_against_a_clearly_different_mesa_run(fast_runs):
    ours, _, deadlier = fast_runs
    result = mesa_reference.compare_counts(ours, deadlier, every=10, tolerance=TOLERANCE)
    assert not result["agree"]
    assert result["max_relative_difference"] > 3 * TOLERANCE


def test_agent_steps_per_second_reports_the_workload():
    result = mesa_reference.agent_steps_per_second((30, 30), steps=3, seed=2, min_seconds=0.0, warmup_steps=0)
    assert set(result) >= {"shape", "sites", "agents", "steps", "seconds", "agent_steps_per_s"}
    assert result["shape"] == [30, 30] and result["sites"] == 900 and result["steps"] == 3
    assert result["agents"] == 180 + 18  # 20 % tumor, 2 % NK of 900 sites
    assert result["agent_steps_per_s"] > 0


@pytest.mark.slow
def test_mean_tumor_counts_agree_on_the_configs_lattice_over_thirty_seeds():
    result = mesa_reference.compare(CONFIG, range(1, 31), 200, every=10, tolerance=TOLERANCE)
    print("\n" + mesa_reference.format_comparison(result))
    assert result["max_relative_se"] < TOLERANCE / 4
    assert result["agree"], mesa_reference.format_comparison(result)
