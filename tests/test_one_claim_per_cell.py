"""A cell claims at most one site to move to and one to divide into per step, whichever rules
proposed: a plugin rule and a built-in rule that both propose for the same cells cannot make a
cell win twice (which put one cell on two sites: the lattice's invariants broke)."""
from __future__ import annotations

import textwrap

import pytest

from abm import TissueModel
from run_helpers import ROOT

CLUSTERING = str(ROOT / "configs" / "northwestern2025_clustering.yaml")  # blood: tumor cells walk

PUSHY = '''
"""A user's rules for tumor cells that propose moves and divisions for every viable cell, every
step, on top of the tumor's own walk and division."""
import numpy as np

from abm.engine import cell_rule, pick_from_mask, site_at_offset


@cell_rule("tumor cells step into a free neighbouring site", "move_to")
def push(alive, site, mask_empty, draws_division, offsets, lattice_shape):
    offset = pick_from_mask(mask_empty, draws_division[3], offsets.shape[0])
    if alive and offset >= 0:
        return site_at_offset(site, offset, lattice_shape[1], lattice_shape[2], offsets)
    return np.int64(-1)


@cell_rule("tumor cells divide into a free neighbouring site", ("divide_into", "daughter_state"))
def spawn(alive, site, mask_empty, draws_death, offsets, lattice_shape):
    offset = pick_from_mask(mask_empty, draws_death[3], offsets.shape[0])
    if alive and offset >= 0:
        return site_at_offset(site, offset, lattice_shape[1], lattice_shape[2], offsets), np.int8(0)
    return np.int64(-1), np.int8(0)


def register(spec):
    spec.add_rule("tumor", push, before="suspension_walk")
    spec.add_rule("tumor", spawn, before="division")
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


def test_the_first_proposal_in_rule_order_is_the_cells_claim(pushy_plugin):
    """Composed for tumor cells: the plugin's move comes before the built-in walk, and a later
    proposal only counts where no earlier rule proposed (a claim already made stands)."""
    model = TissueModel(CLUSTERING, device="cpu", arm="wild_type", seed=2,
                        overrides={**SMALL, "plugins": [pushy_plugin]})
    source = model.schedule.types["tumor"].compiled.programs["decide"].source
    assert "move_to = np.int64(-1)" in source
    guards = [line.strip() for line in source.splitlines() if line.strip().startswith("if move_to < 0")]
    assert len(guards) >= 2  # the plugin's move and the built-in walk, each only if no claim yet
    assert source.index("_push(") < source.index("_suspension_walk(")
