"""The model spec: what cell types, columns, categories, rules, fields and therapies a model has.

A cell type is one declaration (`CellType`); a plugin module declares its own in its own file
and adds them with ``register(spec)``. The spec is assembled when a config is loaded (from the
built-in types and the config's `plugins:`), never at import, so a user's package extends the
model without editing anything here.

Codes are positions: types in registration order (built-ins first), each type's states in
its declared order, categories type after type. Names travel with every output file, so a
reader never needs the spec to decode a run.
"""
from __future__ import annotations

import inspect

import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from .errors import ConfigError

# Columns every cell has, whatever its type (the framework's bookkeeping).
CORE_COLUMNS = (
    ("id", np.int64, 0, "inherit", "stable id, never reused"),
    ("cell_type", np.int8, 0, "inherit", "type code (attribute cell_types of the run file)"),
    ("state", np.int8, 0, "inherit", "state code within the type (attribute cell_states)"),
    ("site", np.int64, 0, "inherit", "flat C-order lattice index"),
    ("state_age_min", np.float32, 0, 0.0, "time in the current state, min"),
    ("cycle_clock_min", np.float32, 0, 0.0, "time since the cell was born or last divided, min"),
    ("clone", np.int64, 0, "inherit", "id of the founding cell (daughters inherit it)"),
    ("partner", np.int64, -1, -1, "id of the cell this one is bound or conjugated to, -1 none"),
    ("partner_site", np.int64, -1, -1, "site of that partner when the bond formed, -1 none"),
)
FRAMEWORK_PURPOSES = {"claim_priority": 1}  # draws of the resolution phase (abm/engine/resolve_kernels.py)
FRAMEWORK_EVENTS = ("births", "deaths", "kills", "moves")  # tallied by resolution and removal
KILL_EVENTS = ("kills_single", "kills_clustered")  # kills split by whether the target was clustered
PHASES = ("secrete", "decide")


@dataclass(frozen=True)
class Column:
    """A per-cell value. `at_birth`: "inherit" (a daughter copies her mother) or the value a
    daughter starts with."""

    name: str
    dtype: Any
    default: float = 0
    at_birth: Any = "inherit"
    description: str = ""

    @property
    def numpy_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)


@dataclass(frozen=True)
class Category:
    """What neighbours see of a cell: a type's cells are sorted into its categories in order (a
    later category wins). `where` is a per-cell predicate whose parameter names are columns
    (`def exposed(state): return state == EXPOSED`, compiled with the rules: declare it with
    `cell_function`); None: all of the type. A type's categories should cover all its cells (start
    with one whose `where` is None); a type that declares none gets one named after it."""

    name: str
    where: Callable | None = None
    description: str = ""

    @property
    def inputs(self) -> tuple[str, ...]:
        """The columns `where` reads (its parameter names)."""
        return () if self.where is None else tuple(inspect.signature(self.where).parameters)


@dataclass(frozen=True)
class Rule:
    """One named behaviour of a cell type, readable as a sentence (`describe`).

    phase "decide": ``run(ctx, cells, params)`` proposes intents for the type's cells (`cells`
    is the type's TypeStep: its slots, intents and working arrays);
    phase "secrete": ``run(ctx, cells, params)`` returns Secretion entries (or None).
    `reads`: config keys (relative to `cells.`) the rule reads, for `abm rules`;
    `when(config)`: False when the rule cannot act in this config (it is then skipped).
    """

    name: str
    run: Callable
    describe: str
    reads: tuple[str, ...] = ()
    phase: str = "decide"
    when: Callable | None = None

    def active(self, config) -> bool:
        return True if self.when is None else bool(self.when(config))


@dataclass(frozen=True)
class Therapy:
    """An intervention, declared by the module of the cells it acts on.

    Its effect is one of: `depletes` (the type's cells are removed while it is in force),
    `sets` ((column, value) set on the type's cells each step), `adds_production` (a field
    gets the therapy's uniform `production_per_min`), or a parameter change that the type's
    `prepare` reads from `in_force` (none of the three set)."""

    name: str
    config: type
    describe: str
    depletes: bool = False
    sets: tuple[str, Any] | None = None
    adds_production: str | None = None


@dataclass(frozen=True)
class FieldUse:
    """A field a type secretes into, takes up or senses (for documentation and `abm rules`)."""

    name: str
    describe: str
    units: str = "ng/mL"


@dataclass(frozen=True)
class Dying:
    """What happens to a killed cell: it enters `state` and is removed `after_key` minutes later
    (a key of the type's config section); a type without Dying is removed at once."""

    state: str
    after_key: str


@dataclass(frozen=True)
class Behaviour:
    """A rate, probability or amount of a type that grammar rules (config `rules:`) and other
    types' rules may change: the behaviour dictionary (docs/behaviours.md).

    `base(params)`: its value per step (a chance, or an amount) before any signal, a float;
    `units`: those of the grammar's saturation ('1/h': a rate, turned into a chance per step;
    '1/min': an amount per minute; 'probability'); `used_by`: the rule that acts on it (grammar
    rules are evaluated just before it runs, into ``cells.behaviours[name]``);
    `current(cells, params)`: per-cell value the type's own earlier rules set up, where it is
    not simply the base (e.g. anoikis raises apoptosis of isolated cells); the grammar modulates
    around it; `base_key`: the config key(s) the base comes from, for the table and `abm rules`;
    `requires(config)`: what the acting rule needs to run when a grammar rule drives the
    behaviour in a config where the rule's own `when` is false (e.g. its field); None: nothing.
    `threshold`: for per-cell rules that decide with an integer threshold, the parameter holding
    it (rounded on the host from the rate) while no signal sets the behaviour.
    """

    name: str
    base: Callable
    units: str
    describe: str
    used_by: str
    current: Callable | None = None
    base_key: str = ""
    requires: Callable | None = None
    threshold: str | None = None

    def drivable(self, config) -> bool:
        """Can a grammar rule drive this behaviour in `config` (its acting rule can run)?"""
        return self.requires is None or bool(self.requires(config))


@dataclass
class CellType:
    """One cell type, declared in one module. See docs/extending.md."""

    name: str
    states: tuple[str, ...]
    config: type  # pydantic model of config section cells.<name>
    prepare: Callable  # (cells config, dt_min, in_force) -> params
    categories: tuple[Category, ...] = ()
    columns: tuple[Column, ...] = ()
    purposes: dict[str, int | None] = field(default_factory=dict)  # name -> stable key (None: hashed)
    rules: list[Rule] = field(default_factory=list)
    begin: Callable | None = None  # (ctx, cells, params): working arrays shared by the rules
    finish: Callable | None = None  # (ctx, cells, params): what the rules decided, as intents
    initial_columns: Callable | None = None  # (xp, section config, count) -> {column: values}
    fields: tuple[FieldUse, ...] = ()
    therapies: tuple[Therapy, ...] = ()
    events: tuple[str, ...] = ()  # tallies its rules add to the time series
    dying: Dying | None = None
    behaviours: tuple[Behaviour, ...] = ()
    describe: str = ""
    working: dict = field(default_factory=dict)  # per-cell rules: values shared by the type's rules, with
    # their start each step (a constant, or the input it starts as; abm/engine/cell_rules.py)


def hashed_purpose(type_name: str, purpose: str) -> int:
    """A stable key from the purpose's name: adding a type never shifts another's draws.
    The high bit keeps it apart from the built-ins' small explicit keys."""
    return zlib.crc32(f"{type_name}.{purpose}".encode()) | 0x80000000


class ModelSpec:
    """The assembled model: cell types with codes, columns, categories, purposes, rules, fields."""

    def __init__(self, plugins: tuple[str, ...] = ()):
        self.plugins = tuple(plugins)
        self.types: dict[str, CellType] = {}
        self.extra_rules: list[tuple[str, Rule, str | None]] = []
        self.frozen = False

    # ---------------------------------------------------------------- registration (plugins)

    def add_cell_type(self, cell_type: CellType) -> None:
        self._unfrozen()
        if cell_type.name in self.types:
            raise ConfigError(f"cell type {cell_type.name!r} is declared twice")
        if not cell_type.name.isidentifier():
            raise ConfigError(f"cell type name {cell_type.name!r} must be an identifier")
        self.types[cell_type.name] = replace(cell_type, rules=list(cell_type.rules))  # add_rule must not
        # change the module's declaration (other specs share it)

    def add_rule(self, type_name: str, rule: Rule, before: str | None = None) -> None:
        """Add a rule to a type declared elsewhere (e.g. a plugin's tumor behaviour); it runs
        after the type's own rules of its phase, or just before the rule named `before`."""
        self._unfrozen()
        self.extra_rules.append((type_name, rule, before))

    def _unfrozen(self):
        if self.frozen:
            raise ConfigError("the model spec is complete: register cell types and rules in register(spec)")

    # ---------------------------------------------------------------- assembled view

    def freeze(self) -> "ModelSpec":
        for type_name, rule, before in self.extra_rules:
            if type_name not in self.types:
                raise ConfigError(f"rule {type_name}.{rule.name}: no cell type {type_name!r} "
                                  f"(types: {', '.join(self.types)})")
            rules = self.types[type_name].rules
            names = [r.name for r in rules]
            rules.insert(names.index(before) if before in names else len(rules), rule)
        for name, t in self.types.items():
            if not t.categories:  # neighbours must see every cell as something: by default, its type
                self.types[name] = replace(t, categories=(Category(name, None, f"any {name} cell"),))
        self.type_names = tuple(self.types)
        self.type_code = {name: code for code, name in enumerate(self.type_names)}
        self.states = {name: t.states for name, t in self.types.items()}
        self.state = {name: {s: code for code, s in enumerate(t.states)} for name, t in self.types.items()}
        self.max_states = max(len(t.states) for t in self.types.values())
        self.categories = tuple((t.name, c) for t in self.types.values() for c in t.categories)
        self.category = {c.name: code for code, (_, c) in enumerate(self.categories)}
        if len(self.category) != len(self.categories):
            raise ConfigError("two cell types declare the same neighbour category")
        self.columns = self._merge_columns()
        for type_name, c in self.categories:
            unknown = [name for name in c.inputs if name not in self.columns]
            if unknown:
                raise ConfigError(f"category {c.name} of {type_name}: `where` reads {unknown[0]!r}, not a column (a "
                                  f"category's predicate is a per-cell function of the cell's columns, e.g. "
                                  f"`def exposed(state)`; docs/extending.md)")
        self.purposes = self._purposes()
        self.events = FRAMEWORK_EVENTS + tuple(e for t in self.types.values() for e in t.events) + KILL_EVENTS
        self.therapies = {}
        for t in self.types.values():
            for therapy in t.therapies:
                if therapy.name in self.therapies:
                    raise ConfigError(f"therapy {therapy.name!r} is declared by {self.therapies[therapy.name][0]} "
                                      f"and {t.name}")
                self.therapies[therapy.name] = (t.name, therapy)
        self.rules = {f"{t.name}.{r.name}": (t.name, r) for t in self.types.values() for r in t.rules}
        for full, (_, rule) in self.rules.items():
            if rule.phase not in PHASES:
                raise ConfigError(f"rule {full}: phase {rule.phase!r} is not one of {PHASES}")
        self.frozen = True
        return self

    @property
    def n_types(self) -> int:
        return len(self.type_names)

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @property
    def empty_category(self) -> int:
        """Column of the neighbour tables that counts empty sites."""
        return len(self.categories)

    def _merge_columns(self) -> dict[str, Column]:
        columns = {name: Column(name, dtype, default, at_birth, text) for name, dtype, default, at_birth, text
                   in CORE_COLUMNS}
        for t in self.types.values():
            for column in t.columns:
                known = columns.get(column.name)
                if known is None:
                    columns[column.name] = column
                elif (known.numpy_dtype, known.default, known.at_birth) != (
                        column.numpy_dtype, column.default, column.at_birth):
                    raise ConfigError(f"cell type {t.name}: column {column.name!r} is declared before with another "
                                      f"dtype, default or birth value")
        return columns

    def _purposes(self) -> dict[str, int]:
        keys = {name: key for name, key in FRAMEWORK_PURPOSES.items()}
        for t in self.types.values():
            own: dict[int, str] = {}
            for purpose, key in t.purposes.items():
                key = hashed_purpose(t.name, purpose) if key is None else int(key)
                if key in own or key in FRAMEWORK_PURPOSES.values():
                    raise ConfigError(f"cell type {t.name}: random purposes {purpose!r} and "
                                      f"{own.get(key, 'claim_priority')!r} share the key {key}; give one another key")
                own[key] = purpose
                keys[f"{t.name}.{purpose}"] = key
        return keys

    # ---------------------------------------------------------------- what columns a type reads

    @property
    def column_dtypes(self) -> dict[str, np.dtype]:
        return {name: c.numpy_dtype for name, c in self.columns.items()}

    def count_columns(self) -> list[tuple[str, str, int]]:
        """(cell type, state, flat index type * max_states + state) for every valid pair."""
        return [(t, s, self.type_code[t] * self.max_states + code)
                for t in self.type_names for code, s in enumerate(self.states[t])]

    def behaviour(self, type_name: str, name: str) -> Behaviour:
        for b in self.types[type_name].behaviours:
            if b.name == name:
                return b
        known = ", ".join(b.name for b in self.types[type_name].behaviours) or "none"
        raise KeyError(f"cell type {type_name} has no behaviour {name!r} (behaviours: {known})")
