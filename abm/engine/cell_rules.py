"""Per-cell rules: one function of one cell, compiled for the CPU and the GPU from the same source.

A rule is a plain function whose parameters name what it reads, and which returns what it
declares in `returns` (one value, or a tuple in that order). The framework wires rules
together by these names: a rule's output is the input of any later rule of the same type
that names it, and the framework fills in everything else. Readable as biology:

    @cell_rule("in quiescent stellate cells, inflammation causes activation", returns=("new_state",))
    def inflammatory_activation(state, new_state, draws_state_change, threshold_activation):
        if state == QUIESCENT and happens(draws_state_change[0], threshold_activation):
            return ACTIVATED
        return new_state

What a rule may read (parameter names):
  p                      the type's parameters this step (rates as chances or thresholds)
  <column>               the cell's value of a column at the start of the step (`state`, `kills`)
  new_<column>           the value the cell will have after the step (starts as <column>)
  <working value>        a value the type declares in `CellType.working` (shared by its rules)
  draws_<purpose>        four uint32 words (as uint64), keyed by (seed, step, purpose, cell id);
                         draws_<type>_<purpose>: a purpose another type declares (a plugin's)
  p_<type>               another type's parameters (a plugin's rule added to a built-in type)
  conc_<field>           the concentration at the cell's site (float32; 0 where not simulated)
  count_<category>       neighbours in that category (`count_empty`: free neighbouring sites)
  mask_<category>        bit j set where neighbour offset j holds that category
  behaviour_<name>       the behaviour's value now (a chance or an amount per step), after signals
  threshold_<name>       the same chance as an integer threshold for `happens`
  slot, dt_min           the cell's slot (an index into whole arrays); the step's length, min
  all_<column>           a column of every cell (index it with a slot: another cell's value)
  occupancy, categories  site -> slot (-1 empty); slot -> neighbour category (-1 none)
  neighbour_counts, neighbour_masks   every cell's neighbour table (slot, category)
  category_<name>        the code of a neighbour category (a constant: compare with `categories`)
  mask_of_type_<type>    neighbour offsets holding a cell of that type, any category
  table_<name>           an array field of the type's parameters (a lookup table)
  contact_table          per neighbour offset o, bit q set where offset q's site touches offset o's
  has_behaviour_<name>   whether a rule or a signal set the behaviour before this rule (a constant)
  offsets, lattice_shape, field_<field>   the neighbour offsets, (nx, ny, nz), a whole field (an
                         empty array where the config does not simulate it); no_field: an empty one
What it may return (names in `returns`):
  new_<column>, working values, behaviour_<name> (a base the signals then modulate)
  move_to / divide_into, daughter_state / kill_site, kill_clustered / follows   (-1: none; a
      cell's first proposal of each kind in rule order is its claim)
  move_to, move_holds, move_turn_word   a move that takes turns with the cells holding the mover
      (held offsets): it stands only if its key beats every held neighbour that also takes such a
      move this step (compiled_type.take_turns), so touching cluster members never move together
  dies, starts_dying (bool), tally_<event> (counted), secrete_<field>, keep_<field> (secrete phase)
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

from ..kernels._numba import jitable

@dataclass(frozen=True)
class CellRule:
    """A named per-cell rule of a cell type (phase "decide" or "secrete")."""

    name: str
    function: Callable
    describe: str
    returns: tuple[str, ...]
    reads: tuple[str, ...] = ()  # config keys (relative to `cells.`), for `abm rules`
    phase: str = "decide"
    when: Callable | None = None
    inputs: tuple[str, ...] = field(default=())

    def active(self, config) -> bool:
        return True if self.when is None else bool(self.when(config))


def cell_rule(describe: str, returns: tuple[str, ...] | str, reads: tuple[str, ...] = (), phase: str = "decide",
              when: Callable | None = None, name: str | None = None):
    """Declare a per-cell rule (a decorator): the function becomes compilable for every target."""
    returns = (returns,) if isinstance(returns, str) else tuple(returns)

    def declare(function) -> CellRule:
        inputs = tuple(inspect.signature(function).parameters)
        return CellRule(name or function.__name__, jitable(function), describe, returns, tuple(reads),
                        phase, when, inputs)

    return declare


def cell_function(function):
    """A helper a rule calls (or a behaviour's current value): compiled wherever the rule is."""
    return jitable(function)


@dataclass(frozen=True)
class Current:
    """A behaviour's per-cell value before signals, where the type's own state sets it (IL-15
    support of NK division): a function whose parameter names are inputs, as a rule's."""

    function: Callable
    inputs: tuple[str, ...]


def current_value(function) -> Current:
    return Current(jitable(function), tuple(inspect.signature(function).parameters))
