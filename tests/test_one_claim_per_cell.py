"""A cell claims at most one site to move to and one to divide into per step, whichever rules
proposed: a plugin rule and a built-in rule that both propose for the same cells cannot make a
cell win twice (which put one cell on two sites: the lattice's invariants broke)."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from abm import TissueModel
from abm.resolution import one_claim_per_cell
from abm.kernels.claims import new_scratch
from run_helpers import ROOT

CLUSTERING = str(ROOT / "configs" / "northwestern2025_clustering.yaml")  # blood: tumor cells walk

PUSHY = '''
"""A user's rules for tumor cells that propose moves and divisions for every viable cell, every
step, on top of the tumor's own walk and division."""
from abm.spec import Rule


def push(ctx, cells, params):
    has_free, site, _ = ctx.random_neighbour(cells.slots, cells.draws("division")[3], "empty")
    cells.intents.move(cells.slots, site, where=has_free & cells.alive)


def spawn(ctx, cells, params):
    xp = ctx.xp
    has_free, site, _ = ctx.random_neighbour(cells.slots, cells.draws("death")[3], "empty")
    cells.intents.divide(cells.slots, site, xp.zeros(cells.n, dtype=xp.int8), where=has_free & cells.alive)


def register(spec):
    spec.add_rule("tumor", Rule("push", push, "tumor cells step into a free neighbouring site"),
                  before="suspension_walk")
    spec.add_rule("tumor", Rule("spawn", spawn, "tumor cells divide into a free neighbouring site"),
                  before="division")
'''

SMALL = {"lattice.shape": [30, 30], "time.duration_h": 4.0, "placement.0.count": 60, "placement.1.count": 20,
         "placement.2.density_per_mm3": 100, "debug.check_invariants": True}


@pytest.fixture
def pushy_plugin(tmp_path, monkeypatch):
    (tmp_path / "pushy_tumor.py").write_text(textwrap.dedent(PUSHY))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "pushy_tumor"


def test_a_plugin_rule_and_the_built_in_walk_moving_the_same_cells_keep_the_lattice_whole(pushy_plugin):
    model = TissueModel(CLUSTERING, device="cpu", arm="wild_type", seed=2,
                        overrides={**SMALL, "plugins": [pushy_plugin]})
    assert model.config.cells.tumor.motility_rate_per_h > 0  # the tumor's own walk proposes too
    model.run()  # check_invariants after every step: one cell, one site
    assert model.totals["moves"] > 0 and model.totals["births"] > 0


def test_the_first_proposal_in_rule_order_is_the_cells_claim():
    claimants = np.array([4, 7, 4, 2, 7, 4])  # cell 4 proposes three times, cell 7 twice
    proposing = np.array([False, True, True, True, True, True])
    kept = one_claim_per_cell(np, claimants, proposing, ["tumor", "tumor"], new_scratch(10))
    # cell 4: its first row does not propose, so its second is its claim; cell 7: its first row
    assert kept.tolist() == [False, True, True, True, False, False]


def test_proposals_of_different_types_are_left_alone():
    claimants = np.array([1, 2, 3])
    proposing = np.array([True, False, True])
    assert one_claim_per_cell(np, claimants, proposing, ["tumor", "nk"], new_scratch(4)) is proposing
