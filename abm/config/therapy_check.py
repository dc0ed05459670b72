"""Therapies a config switches on that nothing in the model reads: a silent no-op arm otherwise.

A therapy acts by one of its declared effects (depletes, sets a column, adds production), by a
grammar rule that names it in `blocked_by`, or through a type's `prepare` reading it from
`in_force`. The last is found by running every type's `prepare` with an `in_force` that notes
which names are looked up: `prepare` is a pure host function, so this costs nothing per step.
"""
from __future__ import annotations

import warnings


class TherapyWarning(UserWarning):
    """A therapy in a config that has no effect in its model."""


class _Noting(dict):
    """in_force that remembers the names it was asked for."""

    def __init__(self, *args):
        super().__init__(*args)
        self.asked: set = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


def therapies_without_effect(spec, config) -> list[str]:
    """Names of the therapies the config switches on that no effect, grammar rule or prepare reads."""
    switched_on = [name for name, switch in config.interventions if switch is not None]
    blocking = {name for rule in config.rules for name in rule.blocked_by}
    idle = []
    for name in switched_on:
        therapy = spec.therapies[name][1]
        if therapy.depletes or therapy.sets is not None or therapy.adds_production or name in blocking:
            continue
        in_force = _Noting({name: getattr(config.interventions, name)})
        for declared in spec.types.values():
            declared.prepare(config.cells, config.time.dt_min, in_force)
        if name not in in_force.asked:
            idle.append(name)
    return idle


def warn_about_idle_therapies(spec, config, source: str) -> None:
    for name in therapies_without_effect(spec, config):
        warnings.warn(f"{source}: interventions.{name}: nothing in this model reads this therapy (no rule's "
                      f"parameters, and no grammar rule names it in blocked_by): the arm runs as without it",
                      TherapyWarning, stacklevel=3)
