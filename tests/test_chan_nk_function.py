"""Chan 2020 (issue 21, item 3): NK education lowers IFN-gamma through the receptor balance that
lowers killing; a tumor cell held in an NK conjugate does not crawl away before the kill is decided;
the NK cells per organoid are a declared, labelled setting; the GPU code path equals NumPy."""
from __future__ import annotations

import numpy as np
import pytest

from abm import TissueModel
from abm.config.sections import load_config
from abm.testing import assert_same_state, host_gpu, model_state  # noqa: F401 (host_gpu: a pytest fixture)
from abm.config.tissue import differences, load_settings
from abm.validate.metrics import STATE, TYPE_CODE
from run_helpers import ROOT

ORGANOID = str(ROOT / "configs" / "chan2020_organoid.yaml")


def _ifng_released(receptors: float, **more) -> float:
    """IFN-gamma in the field after one step of one free NK cell with these inhibitory receptors."""
    overrides = {"lattice.shape": [15, 15], "time.duration_h": 0.1, "fields.ifng.decay_per_min": 0.0,
                 "placement": [{"pattern": "scatter", "cell_type": "nk", "count": 1}],
                 "cells.nk.initial_inhibitory_receptors": receptors, "cells.nk.move_rate_per_h": 0.0,
                 "cells.nk.ifng_secretion_per_min": 0.05, **more}  # a tonic release (0 in the gel) to measure
    model = TissueModel(ORGANOID, device="cpu", arm="healthy_nk", seed=3, overrides=overrides)
    model.step()
    return float(np.asarray(model.field_snapshot()["ifng"]).sum())


def _ifng_of_a_conjugate(steps: int, **more) -> float:
    """IFN-gamma in the field after `steps` steps of one NK cell beside one tumor cell, bound at once,
    never killing; no tonic release (the gel's)."""
    overrides = {"lattice.shape": [15, 15], "time.duration_h": 1.0, "fields.ifng.decay_per_min": 0.0,
                 "placement": [{"pattern": "ball", "cell_type": "tumor", "count": 1},
                               {"pattern": "scatter", "cell_type": "nk", "count": 1, "outer_radius_um": 25.0}],
                 "cells.nk.kill_probability_per_contact": 0.0, "cells.nk.conjugation_time_min": 10_000.0,
                 "cells.nk.move_rate_per_h": 0.0, "cells.tumor.division_rate_per_h": 0.0,
                 "cells.tumor.death_rate_per_h": 0.0, "cells.tumor.leader_rate_per_h": 0.0, **more}
    model = TissueModel(ORGANOID, device="cpu", arm="healthy_nk", seed=3, overrides=overrides)
    for _ in range(steps):
        model.step()
    return float(np.asarray(model.field_snapshot()["ifng"]).sum())


def test_nk_cells_release_ifng_on_recognising_a_target_and_not_once_it_shed_cd155():
    assert _ifng_released(0.0, **{"cells.nk.ifng_secretion_per_min": 0.0}) == 0  # no target, no release
    bound = _ifng_of_a_conjugate(4)
    assert bound > 0 and _ifng_of_a_conjugate(1) == 0  # the conjugate forms in step 1's decide phase
    shed = _ifng_of_a_conjugate(4, **{"cells.tumor.activating_ligand_shedding_per_h": 60.0})
    assert shed < 1e-3 * bound  # stripped of CD155 within minutes, the target no longer triggers it


def test_an_educated_nk_cell_secretes_less_ifng_than_a_naive_one():
    naive, educated = _ifng_released(0.0), _ifng_released(1.5)
    assert 0 < educated < naive
    # The kill formula's balance A / (A + I + w R) at an isolated target (A 1, I 0, w 1): 1 / (1 + 1.5)
    assert educated / naive == pytest.approx(1 / 2.5, rel=1e-5)


def test_a_tigit_klrg1_block_restores_ifng_as_it_restores_killing():
    block = {"interventions.tigit_klrg1_block": {"start_h": 0.0, "efficiency": 0.9}}
    educated, blocked = _ifng_released(3.0), _ifng_released(3.0, **block)
    assert blocked / _ifng_released(0.0) == pytest.approx(1 / (1 + 0.1 * 3.0), rel=1e-5)
    assert blocked > educated


def _held_leader(**more):
    """Two tumor cells and an NK cell beside them that binds at once, never kills and holds its
    target for the whole run; every rim cell turns leader at once and leaders crawl fast."""
    overrides = {"lattice.shape": [20, 20], "time.duration_h": 3.0, "fields": {},
                 "placement": [{"pattern": "ball", "cell_type": "tumor", "count": 2},
                               {"pattern": "scatter", "cell_type": "nk", "count": 1, "outer_radius_um": 25.0}],
                 "cells.nk.kill_probability_per_contact": 0.0, "cells.nk.conjugation_time_min": 10_000.0,
                 "cells.nk.move_rate_per_h": 0.0, "cells.tumor.leader_rate_per_h": 600.0,
                 "cells.tumor.leader_revert_rate_per_h": 0.0, "cells.tumor.invasive_move_rate_per_h": 30.0,
                 "cells.tumor.division_rate_per_h": 0.0, "cells.tumor.death_rate_per_h": 0.0,
                 "debug.check_invariants": True, **more}
    return TissueModel(ORGANOID, device="cpu", arm="healthy_nk", seed=11, overrides=overrides)


def test_a_leader_held_in_an_nk_conjugate_does_not_crawl_away():
    model = _held_leader()
    model.step()
    nk = model.agents_table()["cell_type"] == TYPE_CODE["nk"]
    target = int(model.agents_table()["partner"][nk][0])
    assert target >= 0
    held_at, free_sites = None, set()
    for _ in range(model.total_steps - 1):
        model.step()
        cells = model.agents_table()
        assert int(cells["partner"][cells["cell_type"] == TYPE_CODE["nk"]][0]) == target  # still holding it
        is_target = cells["id"] == target
        if cells["state"][is_target][0] == STATE["tumor"]["invasive"]:
            held_at = held_at if held_at is not None else int(cells["site"][is_target][0])
            assert int(cells["site"][is_target][0]) == held_at
        free_sites.update(cells["site"][(cells["cell_type"] == TYPE_CODE["tumor"]) & ~is_target].tolist())
    assert held_at is not None  # the held cell did turn leader ...
    assert len(free_sites) > 3  # ... and the leader no NK cell holds crawled off


def test_the_nk_cells_per_organoid_are_declared_and_an_arm_cannot_change_them():
    declared = load_settings()["collagen_gel"]["nk_per_organoid"]
    for arm in ("no_nk", "healthy_nk", "exposed_nk", "exposed_nk_tigit_klrg1_block"):
        config = load_config(ORGANOID, arm=arm, check_sources=False)[0]
        assert differences(config, load_settings(), arm) == []
        assert sum(p.count for p in config.placement if p.cell_type == "nk") == declared
    more = load_config(ORGANOID, {"placement.1.count": declared + 3}, arm="healthy_nk", check_sources=False)[0]
    assert differences(more, load_settings(), "chan2020") == [
        f"chan2020: nk_per_organoid is {declared + 3}, but tissue collagen_gel declares {declared} "
        "(tissue_settings.yaml)"]


def test_educated_secretion_and_held_leaders_on_the_gpu_code_path_equal_numpy(host_gpu):
    overrides = {"lattice.shape": [40, 40], "time.duration_h": 4.0, "placement.0.count": 60,
                 "cells.nk.initial_inhibitory_receptors": 1.0, "cells.tumor.leader_rate_per_h": 0.5}
    runs = {}
    for device in ("cpu", "gpu"):
        model = TissueModel(ORGANOID, device=device, arm="healthy_nk", seed=7, overrides=overrides)
        model.run()
        runs[device] = model_state(model)
    assert_same_state(runs["cpu"], runs["gpu"])


def test_a_target_that_shed_its_cd155_no_longer_educates():
    def receptors(shedding_per_h):
        model = _held_leader(**{"cells.nk.conjugation_time_min": 12.0, "cells.tumor.leader_rate_per_h": 0.0,
                                "cells.tumor.activating_ligand_shedding_per_h": shedding_per_h})
        model.run()
        cells = model.agents_table()
        return float(cells["inhibitory_receptors"][cells["cell_type"] == TYPE_CODE["nk"]][0])

    fresh, shed = receptors(0.0), receptors(200.0)
    gain = 0.04  # cells.nk.inhibitory_receptor_gain_per_contact
    assert fresh >= 5 * gain  # a new contact every few steps, each a full step of education
    assert shed < 1.2 * gain  # the first contact only: after that step the target shows almost no CD155
