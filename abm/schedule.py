"""Which rules run, in which order: a type's declared rules minus those that cannot act in this
config (`Rule.when`) and those the config switches off (`ablate:`), with the config's grammar
rules (`rules:`) evaluated just before the rule that acts on their behaviour.

Fixed when the model is built: the step itself only walks these lists.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import grammar
from .errors import ConfigError
from .engine.cell_rules import CellRule
from .engine.compiled_type import CompiledType
from .rules import Intents, StepContext, TypeStep


@dataclass
class TypeSchedule:
    name: str
    declared: object  # the CellType
    decide: list = field(default_factory=list)  # Rule, in order
    secrete: list = field(default_factory=list)
    grammar: dict = field(default_factory=dict)  # rule name -> [(Behaviour, [GrammarRule])] evaluated before it
    compiled: object = None  # per-cell rules: the type's composed phases (abm/engine/compiled_type.py)


class Schedule:
    def __init__(self, spec, config):
        self.spec = spec
        self.ablated = tuple(config.ablate)
        by_behaviour: dict = {}
        for rule in config.rules:
            by_behaviour.setdefault((rule.cell_type, rule.behaviour), []).append(rule)
        self.types: dict[str, TypeSchedule] = {}
        for name, declared in spec.types.items():
            driven = {}  # rule name -> [(Behaviour, [GrammarRule])] that the grammar drives
            for (type_name, behaviour_name), rules in by_behaviour.items():
                if type_name == name:
                    behaviour = spec.behaviour(name, behaviour_name)
                    driven.setdefault(behaviour.used_by, []).append((behaviour, rules))
            # A rule runs where it can act (its `when`), and also where a grammar rule drives a
            # behaviour it acts on: a signal may raise a rate that is 0 without it.
            runs = [r for r in declared.rules if f"{name}.{r.name}" not in self.ablated
                    and (r.active(config) or r.name in driven)]
            schedule = TypeSchedule(name, declared, [r for r in runs if r.phase == "decide"],
                                    [r for r in runs if r.phase == "secrete"], driven)
            per_cell = [r.name for r in declared.rules if isinstance(r, CellRule)]
            if per_cell and len(per_cell) < len(declared.rules):
                array = next(r.name for r in declared.rules if not isinstance(r, CellRule))
                raise ConfigError(f"cell type {name}: rule {array} is an array rule (run(ctx, cells, params)) and "
                                  f"the type's rules are per-cell rules: write it as a per-cell rule "
                                  f"(docs/extending.md, 'Per-cell rules')")
            if per_cell:
                if isinstance(declared.begin, CellRule):  # what every rule of a cell reads
                    schedule.decide = [declared.begin] + schedule.decide
                if isinstance(declared.finish, CellRule):  # what the rules decided, as the cell's state
                    schedule.decide = schedule.decide + [declared.finish]
                schedule.compiled = CompiledType(spec, schedule, config)
            self.types[name] = schedule

    def rule_names(self) -> list[str]:
        """Full names of the rules that run (for `abm rules`, sensitivity factors)."""
        return [f"{name}.{rule.name}" for name, t in self.types.items() for rule in t.decide + t.secrete
                if rule is not t.declared.finish and rule is not t.declared.begin]

    def _with_cells(self, ctx: StepContext):
        """Types that have cells now: a type's rules act on its own cells only, and skipping the
        others saves their array operations (each a kernel launch on a GPU)."""
        for name, t in self.types.items():
            slots = ctx.slots_of(name)
            if slots.shape[0]:
                yield t, slots

    def _depleted(self, ctx: StepContext, type_name: str) -> bool:
        return any(self.spec.therapies[name][0] == type_name and self.spec.therapies[name][1].depletes
                   for name in ctx.in_force)

    @staticmethod
    def _grammar_before(ctx, cells, t: TypeSchedule, rule, params) -> None:
        """The grammar rules on the behaviours `rule` acts on, from what earlier rules set."""
        for behaviour, rules in t.grammar.get(rule.name, ()):
            base = cells.behaviour(behaviour.name)
            cells.behaviours[behaviour.name] = grammar.modulate(ctx, cells, rules, base, behaviour.units)

    def secrete(self, ctx: StepContext) -> list:
        """Secretion entries of every type with cells, in type then rule order."""
        out = []
        for t, slots in self._with_cells(ctx):
            if t.compiled is not None:
                out.extend(t.compiled.secrete(ctx, slots))
                continue
            cells = TypeStep(ctx, t.name, slots, None)
            for rule in t.secrete:
                self._grammar_before(ctx, cells, t, rule, ctx.params[t.name])
                produced = rule.run(ctx, cells, ctx.params[t.name])
                if produced is not None:
                    out.extend(produced if isinstance(produced, list) else [produced])
        return out

    def decide(self, ctx: StepContext) -> Intents:
        intents = Intents()
        for t, slots in self._with_cells(ctx):
            if self._depleted(ctx, t.name):  # a depleting antibody clears the type's cells
                intents.die(slots)
                continue
            params = ctx.params[t.name]
            intents.proposer = t.name
            if t.compiled is not None:
                t.compiled.decide(ctx, slots, intents)
                continue
            cells = TypeStep(ctx, t.name, slots, intents)
            if t.declared.begin is not None:
                t.declared.begin(ctx, cells, params)
            for rule in t.decide:
                self._grammar_before(ctx, cells, t, rule, params)
                rule.run(ctx, cells, params)
            if t.declared.finish is not None:
                t.declared.finish(ctx, cells, params)
        return intents
