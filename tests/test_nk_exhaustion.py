"""Exhausted NK cells: they still bind tumor cells, and are still educated, but no longer kill."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from abm.cells.nk import S as NK_STATE
from abm.core.model import TissueModel

CONFIG = str(Path(__file__).resolve().parent.parent / "configs" / "minimal_rules.yaml")
GAIN = 0.1


def _dense_coculture(max_kills: int) -> TissueModel:
    """NK cells in a near-confluent tumor: every NK cell touches tumor cells all the time."""
    model = TissueModel(CONFIG, device="cpu", seed=11, overrides={
        "lattice.shape": [24, 24], "time.duration_h": 12.0,
        "placement.0.density_per_mm3": 100000,  # 80 % of the 20 um sites (125,000 per mm3)
        "placement.1.density_per_mm3": 5000,     # 4 %
        "cells.tumor.division_rate_per_h": 0.0, "cells.tumor.death_rate_per_h": 0.0,
        "cells.nk.kill_probability_per_contact": 1.0, "cells.nk.conjugation_time_min": 30.0,
        "cells.nk.max_kills": max_kills, "cells.nk.inhibitory_receptor_gain_per_contact": GAIN})
    model.run()
    return model


def _nk(model):
    table = model.agents_table()
    nk = table["cell_type"] == model.spec.type_code["nk"]
    return table["kills"][nk], table["inhibitory_receptors"][nk], table["state"][nk]


def test_an_exhausted_nk_cell_stops_killing_but_keeps_binding_and_being_educated():
    kills, receptors, state = _nk(_dense_coculture(max_kills=1))
    assert len(kills) > 0 and (kills == 1).all()  # each killed once, at its first contact, then never again
    # 12 h of 30-min conjugates: about 20 contacts each (moves between them), far more than the one that killed
    assert np.median(receptors) >= 10 * GAIN
    assert (state == NK_STATE["exhausted"]).all()


def test_without_a_kill_budget_the_same_contacts_keep_killing():
    kills, receptors, _ = _nk(_dense_coculture(max_kills=0))
    assert np.median(kills) >= 5  # the control: the budget, not a lack of contacts, stopped the kills above
