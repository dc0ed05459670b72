"""Which rules run, in which order: a type's declared rules minus those that cannot act in this
config (`Rule.when`) and those the config switches off (`ablate:`), with the config's grammar
rules (`rules:`) evaluated just before the rule that acts on their behaviour.

Fixed when the model is built: the step itself only walks these lists.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError
from ..engine.cell_rules import CellRule
from ..engine.compiled_type import CompiledType, Decisions
from ..rules import StepContext


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
        self._pools = {"secrete": {}, "decide": {}}  # each phase's decision arrays, kept across steps
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
            array = [r.name for r in [*declared.rules, declared.begin, declared.finish]
                     if r is not None and not isinstance(r, CellRule)]
            if array:
                raise ConfigError(f"cell type {name}: rule {array[0]} is an array rule (run(ctx, cells, params)); "
                                  f"rules are per-cell functions now: write it as a per-cell rule "
                                  f"(docs/extending.md, 'Migrating array rules to per-cell rules')")
            if isinstance(declared.begin, CellRule):  # what every rule of a cell reads
                schedule.decide = [declared.begin] + schedule.decide
            if isinstance(declared.finish, CellRule):  # what the rules decided, as the cell's state
                schedule.decide = schedule.decide + [declared.finish]
            if schedule.decide or schedule.secrete:
                schedule.compiled = CompiledType(spec, schedule, config)
            self.types[name] = schedule

    def rule_names(self) -> list[str]:
        """Full names of the rules that run (for `abm rules`, sensitivity factors)."""
        return [f"{name}.{rule.name}" for name, t in self.types.items() for rule in t.decide + t.secrete
                if rule is not t.declared.finish and rule is not t.declared.begin]

    def depleted(self, in_force) -> frozenset:
        """Type codes whose cells a depleting antibody in force clears (their rules do not run)."""
        return frozenset(self.spec.type_code[type_name] for name in in_force
                         for type_name, therapy in (self.spec.therapies[name],) if therapy.depletes)

    def secrete(self, ctx: StepContext) -> Decisions:
        """What every type's cells secrete and take up this step, per cell."""
        decisions = Decisions(ctx.xp, ctx.agents.n, self._pools["secrete"])
        for t in self.types.values():
            if t.compiled is not None and _has_cells(ctx, t.compiled.code):
                t.compiled.run(ctx, "secrete", decisions)
        return decisions

    def decide(self, ctx: StepContext) -> Decisions:
        """Each type's rules, in order, for its own cells (a depleted type's rules do not run); the
        arrays are reused by the next step's decide."""
        decisions = Decisions(ctx.xp, ctx.agents.n, self._pools["decide"])
        depleted = self.depleted(ctx.in_force)
        for t in self.types.values():
            if t.compiled is not None and t.compiled.code not in depleted and _has_cells(ctx, t.compiled.code):
                t.compiled.run(ctx, "decide", decisions)
        return decisions


def _has_cells(ctx: StepContext, code: int) -> bool:
    """False for a type with no live cells (its kernel would only skip every cell); True if unknown."""
    return ctx.cells_by_type is None or ctx.cells_by_type.get(code, 1) > 0
