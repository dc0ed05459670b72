"""The fused step of the minimal rule set (abm/fused.py) against the general step, bit for bit.

The general step (rules/tumor.py, rules/nk.py, resolution.py) is the reference; the fused
step must give the same agents, lattice, tallies and time series at every step, for 2D and 3D,
both neighbourhoods, and the optional features it supports (receptor education, ligand
clustering, caspase+ duration, anoikis). It must also stand aside for any other config.
"""
import numpy as np
import pytest

pytest.importorskip("numba")

from abm import TissueModel  # noqa: E402
from abm.fastpath import why_not_fused  # noqa: E402
from abm.config import load_config  # noqa: E402
from run_helpers import ROOT, assert_same_state, model_state  # noqa: E402

MINIMAL = str(ROOT / "configs" / "minimal_rules.yaml")

FEATURES = {
    "cells.nk.inhibitory_receptor_gain_per_contact": 0.3, "cells.nk.exposed_threshold": 0.8,
    "cells.tumor.activating_ligand_cluster_loss": 0.5, "cells.tumor.inhibitory_ligand_cluster_gain": 0.7,
    "cells.tumor.caspase_duration_min": 30.0, "cells.tumor.isolated_death_rate_per_h": 0.2,
    "cells.nk.kill_probability_per_contact": 0.4,
}


def build(monkeypatch, fused: bool, shape, neighbourhood="moore", seed=5, check=True, **overrides):
    monkeypatch.setenv("ABM_FUSED", "1" if fused else "0")
    values = {"lattice.shape": list(shape), "lattice.neighbourhood": neighbourhood, "time.duration_h": 1e6,
              "debug.check_invariants": check, **overrides}
    model = TissueModel(MINIMAL, device="cpu", seed=seed, overrides=values)
    assert (model.fused_step is not None) == fused, model.fused_reason
    return model


@pytest.mark.parametrize("shape, neighbourhood, steps, features", [
    ((64, 64), "moore", 80, False),
    ((64, 64), "moore", 60, True),
    ((48, 40), "von_neumann", 60, True),
    ((18, 16, 14), "moore", 40, True),
    ((16, 16, 16), "von_neumann", 40, False),
])
def test_fused_step_equals_the_general_step(monkeypatch, shape, neighbourhood, steps, features):
    extra = dict(FEATURES) if features else {}
    if len(shape) == 3:  # placement densities are per mm^2 of the first two axes: give counts in 3D
        extra["placement"] = [{"pattern": "scatter", "cell_type": "tumor", "count": 900},
                              {"pattern": "scatter", "cell_type": "nk", "count": 120}]
    general = build(monkeypatch, False, shape, neighbourhood, **extra)
    fused = build(monkeypatch, True, shape, neighbourhood, **extra)
    for _ in range(steps):
        general.step()
        fused.step()
        assert general.last_events == fused.last_events, general.steps
    assert_same_state(model_state(general), model_state(fused))
    frame_general = general.datacollector.get_model_vars_dataframe()
    frame_fused = fused.datacollector.get_model_vars_dataframe()
    assert frame_general.equals(frame_fused)
    # Something happened: the comparison covers divisions, deaths, kills and moves.
    assert all(general.totals[k] > 0 for k in ("births", "deaths", "kills", "moves")), general.totals


@pytest.mark.parametrize("shape", [(80, 80), (20, 18, 16)])
def test_state_carried_between_steps_changes_nothing(monkeypatch, shape):
    """The fused step carries state from step to step that the general step does not: dead
    cells left as holes and compacted lazily (abm/fused.py, settle), and the category grid kept
    current instead of rebuilt. A run that never looks at its cells until the end equals the
    general step, and the holes really accumulate in between."""
    extra = dict(FEATURES)
    if len(shape) == 3:
        extra["placement"] = [{"pattern": "scatter", "cell_type": "tumor", "count": 1500},
                              {"pattern": "scatter", "cell_type": "nk", "count": 200}]
    general = build(monkeypatch, False, shape, check=False, **extra)
    fused = build(monkeypatch, True, shape, check=False, **extra)
    holes_seen = 0
    for _ in range(60):
        general.step()
        fused.step()
        assert general.last_events == fused.last_events
        assert fused.n_cells == general.n_cells
        holes_seen = max(holes_seen, fused.fused_step.holes)
    assert holes_seen > 0
    assert_same_state(model_state(general), model_state(fused))


def test_fused_step_stands_aside_outside_the_minimal_rule_set():
    minimal, _ = load_config(MINIMAL)
    assert why_not_fused(minimal, "cpu") is None
    assert why_not_fused(minimal, "gpu") is None  # abm/fused_gpu.py
    default, _ = load_config(str(ROOT / "configs" / "default.yaml"))
    assert "fields" in why_not_fused(default, "cpu")
    conjugating, _ = load_config(MINIMAL, {"cells.nk.conjugation_time_min": 30.0})
    assert "conjugation_time_min" in why_not_fused(conjugating, "cpu")
    for path in ("chan2020_organoid.yaml", "correia2021_liver.yaml", "lo2020_ctc_clusters.yaml"):
        config, _ = load_config(str(ROOT / "configs" / path))
        assert why_not_fused(config, "cpu") is not None, path


def test_switch_off_by_environment(monkeypatch):
    monkeypatch.setenv("ABM_FUSED", "0")
    minimal, _ = load_config(MINIMAL)
    assert "ABM_FUSED" in why_not_fused(minimal, "cpu")


def test_fused_runs_are_reproducible_and_seed_dependent(monkeypatch):
    first = build(monkeypatch, True, (50, 50), seed=11)
    second = build(monkeypatch, True, (50, 50), seed=11)
    other = build(monkeypatch, True, (50, 50), seed=12)
    for model in (first, second, other):
        model.run(30)
    assert_same_state(model_state(first), model_state(second))
    assert not np.array_equal(first.agents_table()["site"][:100], other.agents_table()["site"][:100])


def test_checkpoint_of_a_fused_run_continues_exactly(monkeypatch, tmp_path):
    """A checkpoint taken while dead cells wait as holes, resumed: the same run as one straight."""
    from abm.io import checkpoint as checkpoints

    straight = build(monkeypatch, True, (60, 60), check=False, **FEATURES)
    straight.run(13)
    assert straight.fused_step.holes > 0  # the checkpoint must settle them
    saved = checkpoints.save(tmp_path / "x.checkpoint", checkpoints.capture(straight, "id"))
    resumed = checkpoints.build_model(checkpoints.load(saved), device="cpu")
    assert resumed.fused_step is not None and resumed.steps == 13
    straight.run(17)
    resumed.run(17)
    assert_same_state(model_state(straight), model_state(resumed))
    assert np.array_equal(straight.lattice.occupancy, resumed.lattice.occupancy)
