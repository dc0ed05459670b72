"""Arrested tumor cells shed their activating NK ligand (CD155, Ichise 2022): the share left falls
at the declared rate, daughters inherit it, and an NK contact kills in proportion to it."""
from __future__ import annotations

import numpy as np
import pytest

from abm import TissueModel
from abm.config.plugins import builtin_spec
from run_helpers import ROOT

LO = str(ROOT / "configs" / "lo2020_ctc_clusters.yaml")
TUMOR = builtin_spec().type_code["tumor"]
SMALL = {"lattice.shape": [50, 50], "placement.0.count": 10, "placement.1.count": 2, "time.duration_h": 48.0}


def _model(**more):
    return TissueModel.from_config(LO, device="cpu", seed=5, arm="with_nk", overrides={**SMALL, **more})


def _tumor_left(model):
    cells = model._cells
    n = cells.n
    tumor = cells.columns["cell_type"][:n] == TUMOR
    return cells.columns["activating_ligand_left"][:n][tumor]


def test_the_ligand_left_falls_at_the_lung_rate_and_is_full_in_vitro():
    model = _model(**{"placement.2.density_per_mm3": 0})  # no NK: nothing else touches the cells
    rate = model.config.cells.tumor.activating_ligand_shedding_per_h
    assert rate == pytest.approx(np.log(2) / 5, rel=1e-3)  # lung: half-time 5 h
    for _ in range(30):  # 5 h at 10 min per step
        model.step()
    left = _tumor_left(model)
    assert left.size and np.allclose(left, 0.5, rtol=1e-3)  # every cell, daughters included
    collagen = TissueModel.from_config(str(ROOT / "configs" / "default.yaml"), device="cpu", seed=5,
                                       overrides={"time.duration_h": 2.0})
    assert collagen.config.cells.tumor.activating_ligand_shedding_per_h == 0.0
    for _ in range(12):
        collagen.step()
    assert (_tumor_left(collagen) == 1.0).all()


def test_nk_contacts_do_not_kill_a_cell_that_has_shed_its_ligand():
    def kills(shedding):
        model = _model(**{"cells.tumor.activating_ligand_shedding_per_h": shedding})
        for _ in range(72):
            model.step()
        return int(model.datacollector.get_model_vars_dataframe()["kills"].sum())

    assert kills(0.0) > 0
    assert kills(1e4) == 0  # gone within the first step: contacts go on, kills stop
