"""From a type's per-cell rules to one kernel per phase: the rules called in order for each cell.

`compose(...)` writes the source of a loop over the type's cells that
  1. reads what the rules name (columns, draws, concentrations, neighbour counts),
  2. evaluates the grammar's signals on a behaviour just before the rule that acts on it,
  3. calls the rules in order, wiring each one's outputs to later ones by name,
  4. writes what the cell decided (new column values, claims, tallies, secretions).
The loop runs over all cells and skips those of other types: no per-type list of cells is needed,
so the step never waits for the device to learn how many cells each type has. The source is then
compiled for a target (targets.py): numba on the CPU, numba-cuda on the
GPU, or run as plain Python (the uncompiled reference). Reading the generated source
(`Program.source`) shows exactly what a step does for one cell.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from .cell_rules import Current

FIRST_CLAIM = ("move_to", "follows")  # a cell's first proposal in rule order is its claim
# a move that takes turns with the cells holding it: (site, held offsets, priority word), kept with its claim
TURN = ("move_holds", "move_turn_word")
PAIRED_CLAIM = {"divide_into": "daughter_state", "kill_site": "kill_clustered"}
PAIRED_VALUE = {value: claim for claim, value in PAIRED_CLAIM.items()}
ANY = ("dies", "starts_dying")
# Whole arrays a rule may read to look at other cells (compiled_type.arrays gives them)
WHOLE_ARRAYS = ("occupancy", "categories", "neighbour_counts", "neighbour_masks", "offsets", "lattice_shape",
                "contact_table", "no_field")


@dataclass
class Output:
    name: str
    dtype: np.dtype
    start: str  # expression of its value before any rule


@dataclass
class Program:
    """A composed phase of one type: the loop's source and what it writes per cell."""

    type_name: str
    phase: str
    source: str
    function_name: str
    namespace: dict
    outputs: list[Output]
    arrays: tuple[str, ...]  # the tissue's arrays it reads, in its signature's order (compiled_type.arrays)
    grammar: list = field(default_factory=list)  # (Behaviour, [GrammarRule], first index)
    other_params: tuple[str, ...] = ()  # other types whose parameters it reads (p_<type>)
    serial: bool = False  # cells meet in a claim buffer (SERIAL loop): never a parallel CPU loop


class _Writer:
    def __init__(self):
        self.lines: list[str] = []

    def add(self, line: str, depth: int = 2) -> None:
        self.lines.append("    " * depth + line)


class Composer:
    """Writes one type's phase: knows the spec (codes), the type, its rules and its grammar."""

    def __init__(self, spec, type_name: str, declared, rules, grammar_by_rule: dict, fields: tuple[str, ...]):
        self.spec, self.type_name, self.declared = spec, type_name, declared
        self.rules, self.grammar_by_rule, self.fields = rules, grammar_by_rule, fields
        self.namespace: dict = {}
        self.defined: set[str] = set()  # locals assigned so far
        self.set_behaviours: set[str] = set()  # behaviours a rule or signal has set so far
        self.arrays: set[str] = set()
        self.other_params: set[str] = set()
        self.outputs: dict[str, Output] = {}
        self.grammar: list = []
        self.w = _Writer()

    # ------------------------------------------------------------------ inputs

    def _array(self, name: str) -> str:
        self.arrays.add(name)
        return name

    def _column(self, name: str) -> str:
        return f"{self._array('col_' + name)}[i]"

    def _define(self, name: str, expression: str) -> None:
        if name not in self.defined:
            self.w.add(f"{name} = {expression}")
            self.defined.add(name)

    def input(self, name: str) -> str:
        """The expression a rule's parameter `name` reads (defining locals on first use)."""
        spec = self.spec
        if name in ("p", "dt_min"):
            return name
        if name == "slot":
            return "i"
        if name in spec.columns:
            return self._column(name)
        if name.startswith("all_") and name[4:] in spec.columns:
            return self._array("col_" + name[4:])
        if name in WHOLE_ARRAYS:
            return self._array(name)
        if name.startswith("table_"):  # an array of the type's parameters (a lookup table)
            return self._array("p_" + name[6:])
        if name.startswith("mask_of_type_"):  # every category of a type, OR-ed
            codes = [spec.category[c.name] for t, c in spec.categories if t == name[13:]]
            masks = self._array("neighbour_masks")
            return "(" + " | ".join(f"{masks}[i, {code}]" for code in codes) + ")"
        if name.startswith("field_"):  # a field the config does not simulate reads as an empty array
            return self._array(name if name[6:] in self.fields else "no_field")
        if name.startswith("new_") and name[4:] in spec.columns:
            self._define(name, self._column(name[4:]))
            self._output(name, spec.columns[name[4:]].numpy_dtype, name)
            return name
        if name in self.declared.working:
            return name  # defined at the top of the loop
        if name.startswith("category_") and name[9:] in spec.category:
            return str(spec.category[name[9:]])
        if name.startswith("draws_"):
            purpose = self._purpose(name[6:])
            self._define(name, f"philox(seed_lo, seed_hi, step, {spec.purposes[purpose]}, {self._column('id')})")
            return name
        if name.startswith("p_") and name[2:] in spec.types:  # another type's parameters (a plugin's own)
            self.other_params.add(name[2:])
            return name
        if name.startswith("conc_"):
            field_name = name[5:]
            if field_name not in self.fields:
                return "np.float32(0.0)"
            return f"{self._array('field_' + field_name)}[{self._column('site')}]"
        if name.startswith(("count_", "mask_")):
            kind, _, category = name.partition("_")
            code = spec.empty_category if category == "empty" else spec.category[category]
            return f"{self._array('neighbour_counts' if kind == 'count' else 'neighbour_masks')}[i, {code}]"
        if name.startswith("behaviour_"):
            return self.behaviour_value(name[10:])
        if name.startswith("threshold_"):
            return self.threshold(name[10:])
        if name.startswith("has_behaviour_"):
            return str(name[14:] in self.set_behaviours)
        if name in self.outputs:
            return name
        raise KeyError(f"{name}: not an input a rule may read (a column, new_<column>, a working value of the "
                       f"type, draws_/conc_/count_/mask_/behaviour_/threshold_<name>: abm/engine/cell_rules.py)")

    def _purpose(self, rest: str) -> str:
        """`draws_<purpose>`: the type's own purpose, or `draws_<type>_<purpose>` another type declares
        (a plugin's rule added to a built-in type draws from the plugin's purposes)."""
        own = f"{self.type_name}.{rest}"
        if own in self.spec.purposes:
            return own
        for type_name in self.spec.types:
            if rest.startswith(type_name + "_") and f"{type_name}.{rest[len(type_name) + 1:]}" in self.spec.purposes:
                return f"{type_name}.{rest[len(type_name) + 1:]}"
        raise KeyError(f"draws_{rest}: {own} is not a purpose the type declares (another type's: "
                       f"draws_<type>_<purpose>)")

    # ------------------------------------------------------------------ behaviours and signals

    def _behaviour(self, name: str):
        return self.spec.behaviour(self.type_name, name)

    def behaviour_value(self, name: str) -> str:
        if name in self.set_behaviours:
            return f"behaviour_{name}"
        declared = self._behaviour(name)
        if isinstance(declared.current, Current):
            key = f"current_{name}"
            self.namespace[key] = declared.current.function
            return f"{key}({', '.join(self.input(a) for a in declared.current.inputs)})"
        return f"np.float32(p.base_{name})"

    def threshold(self, name: str) -> str:
        if name in self.set_behaviours:
            return f"as_threshold(behaviour_{name})"
        declared = self._behaviour(name)
        if declared.threshold is None:
            return f"as_threshold({self.behaviour_value(name)})"
        return f"p.{declared.threshold}"

    def signal(self, name: str) -> str:
        kind, _, rest = name.partition(".")
        if name == "time_in_state_min":
            return self._column("state_age_min")
        if kind == "neighbours":
            return f"np.float32({self.input('count_' + rest)})"
        if kind == "contact":
            codes = [self.spec.category[c.name] for t, c in self.spec.categories if t == rest]
            total = " + ".join(f"{self._array('neighbour_counts')}[i, {code}]" for code in codes)
            return f"np.float32(1.0) if ({total}) > 0 else np.float32(0.0)"
        return self.input("conc_" + name)

    def modulate(self, behaviour, rules) -> None:
        """The grammar on one behaviour, as abm/grammar.py `modulate` computes it, per cell."""
        first = sum(len(r) for _, r, _ in self.grammar)
        self.grammar.append((behaviour, rules, first))
        name = behaviour.name
        value = self.behaviour_value(name)
        self.w.add(f"behaviour_{name} = np.float32({value})")
        self.defined.add(f"behaviour_{name}")
        for direction, bound in (("increases", "bmax"), ("decreases", "bmin")):
            terms = [(k, r) for k, r in enumerate(rules, start=first) if r.direction == direction]
            if not terms:
                continue
            parts = [f"np.float32(hill({self.signal(r.signal)}, p.g{k}_kn, {r.hill_n}) * p.g{k}_left)"
                     for k, r in terms]
            total = parts[0]
            for part in parts[1:]:
                total = f"np.float32({total} + {part})"
            if len(parts) > 1:
                total = f"min({total}, np.float32(1.0))"
            self.w.add(f"_u = {total}")
            self.w.add(f"behaviour_{name} = np.float32(np.float32(np.float32(1.0) - _u) * behaviour_{name}) "
                       f"+ np.float32(_u * p.{bound}_{name})")
        self.set_behaviours.add(name)

    # ------------------------------------------------------------------ outputs

    def _output(self, name: str, dtype, start: str) -> None:
        if name not in self.outputs:
            self.outputs[name] = Output(name, np.dtype(dtype), start)

    def intent_start(self, name: str):
        if name in ("move_to", "divide_into", "kill_site", "follows"):
            return np.int64, "np.int64(-1)"
        if name == "daughter_state":
            return np.int8, "np.int8(0)"
        if name in ("kill_clustered", "dies", "starts_dying"):
            return np.bool_, "False"
        if name.startswith("tally_"):
            return np.int64, "np.int64(0)"
        if name.startswith("secrete_"):
            return np.float32, "np.float32(0.0)"
        if name.startswith("keep_"):
            return np.float32, "np.float32(1.0)"
        return None

    def receive(self, name: str, temp: str, paired_temp: dict) -> None:
        """Fold a rule's returned value into the cell's running value of `name`."""
        if name in PAIRED_VALUE or name in TURN:
            return  # written with its claim
        started = self.intent_start(name)
        if started is not None:
            dtype, start = started
            self._output(name, dtype, start)
            self._define(name, start)
            if name == "move_to" and "move_holds" in paired_temp:
                self._output("move_turn", np.bool_, "False")
                self._output("move_holds", np.uint32, "np.uint32(0)")
                self._output("move_turn_word", np.uint64, "np.uint64(0)")
                for value in ("move_turn", "move_holds", "move_turn_word"):
                    self._define(value, self.outputs[value].start)
                self.w.add(f"if {name} < 0 and {temp} >= 0:")
                self.w.add(f"{name} = {temp}", 3)
                self.w.add("move_turn = True", 3)
                self.w.add(f"move_holds = {paired_temp['move_holds']}", 3)
                self.w.add(f"move_turn_word = {paired_temp['move_turn_word']}", 3)
            elif name in FIRST_CLAIM:
                self.w.add(f"if {name} < 0:")
                self.w.add(f"{name} = {temp}", 3)
            elif name in PAIRED_CLAIM:
                value = PAIRED_CLAIM[name]
                value_dtype, value_start = self.intent_start(value)
                self._output(value, value_dtype, value_start)
                self._define(value, value_start)
                self.w.add(f"if {name} < 0 and {temp} >= 0:")
                self.w.add(f"{name} = {temp}", 3)
                self.w.add(f"{value} = {paired_temp[value]}", 3)
            elif name in ANY:
                self.w.add(f"{name} = {name} or {temp}")
            elif name.startswith("tally_"):
                self.w.add(f"{name} += np.int64({temp})")
            else:
                self.w.add(f"{name} = {temp}")
            return
        if name.startswith("behaviour_"):
            self.set_behaviours.add(name[10:])
        elif name.startswith("new_"):
            self.input(name)  # defines it (from the column) and marks it written
        elif name not in self.declared.working:
            raise KeyError(f"returns {name!r}: not a column (new_<column>), a working value the type declares, a "
                           f"behaviour or an intent (abm/engine/cell_rules.py)")
        self.w.add(f"{name} = {temp}")
        self.defined.add(name)

    # ------------------------------------------------------------------ the loop

    def call(self, index: int, rule) -> None:
        for behaviour, rules in self.grammar_by_rule.get(rule.name, ()):
            self.modulate(behaviour, rules)
        key = f"rule_{index}_{rule.name}"
        self.namespace[key] = rule.function
        try:
            arguments = ", ".join(self.input(name) for name in rule.inputs)
            temps = [f"_{index}_{k}" for k in range(len(rule.returns))]
            self.w.add(f"# {rule.describe}")
            self.w.add(f"{', '.join(temps)} = {key}({arguments})")  # one name: the value; several: a tuple
            by_name = dict(zip(rule.returns, temps))
            for name in rule.returns:
                self.receive(name, by_name[name], by_name)
        except KeyError as error:  # a name the framework does not know: the rule's author's typo, most likely
            raise ConfigError(f"rule {self.type_name}.{rule.name}: {error.args[0]}") from None

    def compose(self, phase: str) -> Program:
        for name, start in self.declared.working.items():  # a constant, or the input it starts as
            self._define(name, self.input(start) if isinstance(start, str) else repr(start))
        for index, rule in enumerate(self.rules):
            self.call(index, rule)
        for name in self.outputs:
            self._define(name, self.outputs[name].start)
            self.w.add(f"out_{name}[i] = {name}")
        function_name = f"{phase}_{self.type_name}"
        others = tuple(sorted(self.other_params))
        arrays = tuple(sorted(self.arrays | {"col_cell_type"}))
        signature = ", ".join(("n", "seed_lo", "seed_hi", "step", "dt_min", "p") + tuple(f"p_{t}" for t in others)
                              + arrays + tuple(f"out_{name}" for name in self.outputs))
        head = [f"def {function_name}({signature}):",
                "    for i in LOOP(n):",
                f"        if col_cell_type[i] != {self.spec.type_code[self.type_name]}:  # {self.type_name} cells only",
                "            continue"]
        source = "\n".join(head + self.w.lines) + "\n"
        return Program(self.type_name, phase, source, function_name, self.namespace, list(self.outputs.values()),
                       arrays, self.grammar, others)


def compose(spec, type_name: str, declared, rules, grammar_by_rule: dict, fields, phase: str) -> Program:
    return Composer(spec, type_name, declared, rules, grammar_by_rule, tuple(fields)).compose(phase)
