"""Cell-level rules, one module per cell type. Each reads like the biology it encodes.

A rule module exposes ``prepare(cell_config, dt_min) -> params`` (rates turned into integer
thresholds once, on the host) and ``decide(ctx, params) -> Intents``: what each cell of that
type wants to do this step. Nothing is applied here; contested intents are resolved later
(claim-then-resolve), so every cell decides from the same snapshot of the tissue.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..celltypes import N_TYPES, TYPE_CODE
from ..kernels import philox
from ..kernels.neighbours import pick_from_mask, site_at_offset

EMPTY_COLUMN = N_TYPES  # column of the neighbour tables that counts empty sites


@dataclass
class StepContext:
    """What every rule may read during the decision phase of one step."""

    xp: object
    seed: int
    step: int
    dt_min: float
    lattice: object
    agents: object
    local_concentration: dict  # field name -> concentration at each live agent's site
    neighbour_counts: object  # (n, N_TYPES + 1) int32, last column: empty sites
    neighbour_masks: object  # (n, N_TYPES + 1) uint32, bit j: offsets[j] holds that type

    def slots_of(self, cell_type: str):
        return self.xp.nonzero(self.agents["cell_type"] == TYPE_CODE[cell_type])[0]

    def draws(self, purpose: str, slots):
        """Four uint32 words per cell, keyed by (seed, step, purpose, id)."""
        return philox.draw(self.seed, self.step, purpose, self.agents["id"][slots], xp=self.xp)

    def happens(self, word, threshold: int):
        return philox.happens(word, threshold, xp=self.xp)

    def random_neighbour(self, slots, column: int, word):
        """(has_one, site): a uniformly chosen neighbour whose table column matches (a type or EMPTY)."""
        mask = self.neighbour_masks[slots, column]
        offset = pick_from_mask(mask, word, len(self.lattice.offsets), xp=self.xp)
        site = site_at_offset(self.agents["site"][slots], offset, self.lattice.shape,
                              self.lattice.offsets_device, xp=self.xp)
        return offset >= 0, site


@dataclass
class Intents:
    """Proposals of one step. Site claims compete per target site, kills per target cell."""

    moves: list = field(default_factory=list)  # (slots, target_sites)
    divisions: list = field(default_factory=list)  # (parent slots, target_sites)
    kills: list = field(default_factory=list)  # (killer slots, target sites)
    deaths: list = field(default_factory=list)  # slots dying of their own accord

    def extend(self, other: "Intents"):
        for name in ("moves", "divisions", "kills", "deaths"):
            getattr(self, name).extend(getattr(other, name))
        return self


def concat(xp, pairs, n_columns=2, dtype=np.int64):
    """Concatenate a list of equal-length array tuples column by column."""
    if not pairs:
        return tuple(xp.empty(0, dtype=dtype) for _ in range(n_columns))
    return tuple(xp.concatenate([p[i].astype(dtype) for p in pairs]) for i in range(n_columns))
