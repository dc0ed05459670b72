"""What a step's decisions become: the step's context, the intents resolution applies, and the
array rules of types written before per-cell rules.

The built-in types' rules are per-cell rules (abm/engine): each type's rules run as one kernel,
whose per-cell outputs become the intents below (compiled_type.as_intents). A plugin type whose
rules are all array rules, ``run(ctx, cells, params)`` over all its cells at once, still runs
here on its own (docs/extending.md, "Migrating array rules to per-cell rules").
Nothing is applied during decisions: every cell decides from the same snapshot of the tissue,
and contested intents are resolved afterwards (claim-then-resolve).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..kernels import philox
from ..kernels.counts import count_codes
from ..kernels.neighbours import pick_from_mask, site_at_offset


@dataclass
class StepContext:
    """What every rule may read during the decision phase of one step."""

    xp: object
    spec: object  # the ModelSpec: type, state and category codes, purposes
    seed: int
    step: int
    dt_min: float
    time_min: float  # at the start of the step
    lattice: object
    agents: object
    fields_flat: dict  # field name -> flat field array (simulated fields only)
    local_concentration: object  # field name -> concentration at each live cell's site (zeros if absent)
    category: object  # (n,) int8: what neighbours see of each cell (spec.categories)
    neighbour_counts: object  # (n, n_categories + 1) int32, last column: empty sites
    neighbour_masks: object  # (n, n_categories + 1) uint32, bit j: offsets[j] holds that category
    in_force: dict  # interventions active this step
    params: dict  # cell type -> its prepared parameters
    slots_by_type: dict  # type code -> slots of the cells of that type, ascending (see slots_by_type)

    def slots_of(self, cell_type: str):
        return self.slots_by_type[self.spec.type_code[cell_type]]

    def state(self, cell_type: str, state: str) -> int:
        """Code of a state of a type."""
        return self.spec.state[cell_type][state]

    def draws(self, purpose: str, slots):
        """Four uint32 words per cell, (4, len(slots)), keyed by (seed, step, purpose, id).

        `purpose`: a type's declared purpose, "type.name". A pure function of the key: a cell's
        draw does not depend on which other cells ask, so each rule draws for its own cells only.
        """
        return philox.draw(self.seed, self.step, self.spec.purposes[purpose], self.agents["id"][slots], xp=self.xp)

    def _column(self, category: str) -> int:
        return self.spec.empty_category if category == "empty" else self.spec.category[category]

    def happens(self, word, threshold):
        """Bernoulli decision against an integer threshold (a host int or a uint64 array)."""
        return philox.happens(word, threshold, xp=self.xp)

    def happens_with(self, word, probability):
        """Bernoulli decision with a float32 probability array computed on the device.

        p * 2**32 is exact in float64 and truncated the same way by NumPy and CUDA.
        """
        return word.astype(self.xp.uint64) < as_threshold(self.xp, probability)

    def count(self, slots, *categories):
        """Neighbours of each cell in any of the named categories ('empty' for free sites)."""
        columns = [self._column(c) for c in categories]
        total = self.neighbour_counts[slots, columns[0]]
        for column in columns[1:]:
            total = total + self.neighbour_counts[slots, column]
        return total

    def mask(self, slots, *categories):
        columns = [self._column(c) for c in categories]
        bits = self.neighbour_masks[slots, columns[0]]
        for column in columns[1:]:
            bits = bits | self.neighbour_masks[slots, column]
        return bits

    def random_neighbour(self, slots, word, *categories):
        """(has_one, site, offset): a uniformly chosen neighbour in the given categories."""
        return self.pick(slots, self.mask(slots, *categories), word)

    def pick(self, slots, mask, word):
        offset = pick_from_mask(mask, word, len(self.lattice.offsets), xp=self.xp)
        site = site_at_offset(self.agents["site"][slots], offset, self.lattice.shape,
                              self.lattice.offsets_device, xp=self.xp)
        return offset >= 0, site, offset

    def hill(self, concentration, half_max: float, exponent: int):
        """x^n / (K^n + x^n) in float32 by repeated products (no pow: identical on CPU and GPU)."""
        xp = self.xp
        x = concentration.astype(xp.float32)
        xn = x
        for _ in range(exponent - 1):
            xn = xn * x
        kn = xp.float32(np.float32(half_max) ** exponent)
        return xn / (kn + xn)


@dataclass
class Intents:
    """Proposals of one step. Site claims compete per target site, kills per target cell.

    Each entry names a rule's cells (slots, usually all cells of its type) and, optionally, a
    mask `where` over them of the cells that do propose. A mask keeps the arrays at their full
    length, so a rule never waits for the device to learn how many of its cells act; resolution
    selects the proposing rows of each list once, for all rules together.

    A cell makes at most one move claim and one division claim per step: where several rules
    propose for the same cell, its first proposal in rule order is its claim and later ones are
    dropped before claims compete (resolution.one_claim_per_cell). `proposer` is the type whose
    rules are proposing now (set by the schedule): only a type with two or more move (division)
    entries can have such cells, so only then is anything dropped.
    """

    moves: list = field(default_factory=list)  # (slots, target sites, where)
    divisions: list = field(default_factory=list)  # (parent slots, target sites, daughter state codes, where)
    kills: list = field(default_factory=list)  # (killer slots, target sites, target clustered: bool, where)
    dying: list = field(default_factory=list)  # (slots, where): cells entering their type's dying state
    deaths: list = field(default_factory=list)  # (slots, where): cells removed at once
    updates: list = field(default_factory=list)  # (column, slots, values, where): a cell changing itself
    follows: list = field(default_factory=list)  # (slots, leader slots, where): into the site a leader left
    tallies: dict = field(default_factory=dict)  # event name -> device scalar, for the time series
    proposer: str = ""  # the cell type whose rules run now
    move_proposers: list = field(default_factory=list)  # type of each moves entry
    division_proposers: list = field(default_factory=list)  # type of each divisions entry
    follow_proposers: list = field(default_factory=list)  # type of each follows entry

    def move(self, slots, target_sites, where=None):
        """The cells want to step into `target_sites` (one claim per cell per step: the first wins)."""
        self.moves.append((slots, target_sites, where))
        self.move_proposers.append(self.proposer)

    def divide(self, parents, target_sites, daughter_states, where=None):
        """The cells want to divide into `target_sites` (one claim per cell per step: the first wins)."""
        self.divisions.append((parents, target_sites, daughter_states, where))
        self.division_proposers.append(self.proposer)

    def follow(self, slots, leaders, where=None):
        """The cells step into the site their leader (a slot each) leaves this step, if it moves: a
        bound escort travels with its partner. Only followers claim a vacated site (it was not free
        when the step began), one winner per site; a cell that moved by its own claim stays."""
        self.follows.append((slots, leaders, where))
        self.follow_proposers.append(self.proposer)

    def kill(self, killers, target_sites, target_clustered=False, where=None):
        """Killers attack the cells on `target_sites`; one winner per target. `target_clustered`
        (bool per attempt, or one bool for all) splits the kill tallies."""
        self.kills.append((killers, target_sites, target_clustered, where))

    def start_dying(self, slots, where=None):
        """The cells enter their type's dying state (spec Dying; removed at once without one)."""
        self.dying.append((slots, where))

    def die(self, slots, where=None):
        self.deaths.append((slots, where))

    def update(self, column, slots, values, where=None):
        """Set `column` of the cells at `slots` to `values`; with `where` (a mask over `slots`),
        only of the cells where it holds. A mask keeps the arrays' lengths: no wait on a GPU."""
        self.updates.append((column, slots, values, where))

    def tally(self, name, value):
        # the first value is kept as it is: adding it to 0 would be one more kernel on a GPU
        self.tallies[name] = self.tallies[name] + value if name in self.tallies else value


@dataclass
class Secretion:
    """Cells adding `secreted` to and keeping `keep` of a field at their sites, this step."""

    field: str
    sites: object
    secreted: object  # float32 per cell, concentration units per step
    keep: object  # float32 per cell: 1 / (1 + uptake rate * dt)


class TypeStep:
    """One type's working set during a step: its slots, the step's intents, and the arrays its
    rules share (set by the type's `begin` and by the rules, read by later rules and `finish`).

    Draws are kept per purpose: rules of a type that read the same stream get the same words
    without drawing again."""

    def __init__(self, ctx: StepContext, type_name: str, slots, intents: "Intents"):
        self.ctx, self.type_name, self.slots, self.intents = ctx, type_name, slots, intents
        self.behaviours: dict = {}  # behaviour name -> per-cell chance per step, once a rule sets it
        self._draws: dict = {}

    @property
    def n(self) -> int:
        return self.slots.shape[0]

    def draws(self, purpose: str):
        """The words of the type's purpose `purpose` (declared in its CellType) for its cells."""
        if purpose not in self._draws:
            self._draws[purpose] = self.ctx.draws(f"{self.type_name}.{purpose}", self.slots)
        return self._draws[purpose]

    def column(self, name: str):
        """A column's values for the type's cells."""
        return self.ctx.agents[name][self.slots]

    def behaviour(self, name: str):
        """A behaviour's value for each cell now, per step (a chance, or an amount): what a signal
        set (a grammar rule, another type's rule), else what the type's own rules set up (its
        `current`), else its base (a float). The same value the grammar modulates."""
        if name in self.behaviours:
            return self.behaviours[name]
        declared = self.ctx.spec.behaviour(self.type_name, name)
        params = self.ctx.params[self.type_name]
        if declared.current is not None:
            return declared.current(self, params)
        return float(declared.base(params))

    def threshold(self, name: str, threshold):
        """The integer threshold a rule decides behaviour `name` with (``ctx.happens``), or, where
        a signal set the behaviour, that per-cell chance as a threshold. Rules that compare
        integers keep their bits when nothing sets the behaviour."""
        value = self.behaviours.get(name)
        return threshold if value is None else as_threshold(self.ctx.xp, value)


def as_threshold(xp, probability):
    """A float32 chance (per cell, or one value) as a uint64 threshold for a uint32 draw:
    p * 2**32 in float64, truncated (exact, and the same on NumPy and CUDA)."""
    probability = xp.asarray(probability, dtype=xp.float32)
    return (probability.astype(xp.float64) * float(2**32)).astype(xp.uint64)


def slots_by_type(xp, cell_type, to_host, n_types: int) -> dict:
    """Type code -> slots of the cells of that type, ascending (as nonzero would give them).

    All types from one stable sort and one host read of the counts: on a GPU, one wait for the
    host instead of one per type.
    """
    order = xp.argsort(cell_type, kind="stable")  # stable: slots stay ascending within a type
    counts = to_host(count_codes(cell_type, n_types, xp=xp))
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return {code: order[bounds[code]:bounds[code + 1]] for code in range(n_types)}


def where_true(xp, mask, *arrays):
    """The entries of each 1-D array where `mask` holds, in order.

    Same result as `a[mask]` for each array, but the positions are found once: on a GPU each
    boolean index is a nonzero whose length the host must wait for, so one instead of several.
    """
    positions = xp.nonzero(mask)[0]
    return tuple(a[positions] for a in arrays)


def rows(xp, entries, n_columns, dtype=np.int64):
    """A list of proposals (arrays..., where) concatenated column by column, in the order of the
    entries: (columns, proposing), `proposing` the entries' masks (True where an entry has none)."""
    if not entries:
        return tuple(xp.empty(0, dtype=dtype) for _ in range(n_columns)), xp.empty(0, dtype=bool)
    def column(entry, i):
        if isinstance(entry[i], (bool, int, float)):  # one value for all of the entry's cells
            return xp.full(entry[0].shape[0], entry[i], dtype=dtype)
        return xp.asarray(entry[i]).astype(dtype, copy=False)

    columns = tuple(xp.concatenate([column(entry, i) for entry in entries]) for i in range(n_columns))
    proposing = xp.concatenate([xp.ones(entry[0].shape[0], dtype=bool) if entry[-1] is None else entry[-1]
                                for entry in entries])
    return columns, proposing


def marked(xp, n, entries):
    """Boolean over slots [0, n): the cells named by any (slots, where) entry, where its mask holds."""
    mask = xp.zeros(n, dtype=bool)
    for slots, where in entries:
        mask[slots] = True if where is None else mask[slots] | where
    return mask
