"""The factors of a study's sensitivity design: the assumed parameters its active rules read.

A parameter is a factor of a study when it is labelled *assumed* in the parameter set, a rule
that runs in one of the study's arms reads it (`Rule.reads`; field properties are read by the
field solver of every field the scenario simulates), and its cell type is present. Its nominal
value is the one that applies in the study's tissue. It is varied log-uniformly over
[value / range, value * range] (what "within a factor of range" means), cut at the config's own
upper limit (a probability stays <= 1); integers are rounded. Booleans (switches), nulls and
zeros (a process that is off: any multiple of zero is zero) are excluded, and say so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..config.sections import load_config
from ..config.describe import types_present
from ..errors import ConfigError
from ..config.parameters import ParameterSet, included_path, load_parameter_set
from ..core.schedule import Schedule

FIELD_SOLVER = "field solver"


@dataclass(frozen=True)
class Factor:
    key: str  # dotted config key, e.g. cells.nk.move_rate_per_h
    value: float  # nominal, in the study's tissue
    low: float
    high: float
    integer: bool
    read_by: tuple[str, ...]  # the active rules (or the field solver) that read it

    def at(self, log_value: float):
        """The config value at a point of the design (which samples log(value))."""
        value = math.exp(log_value)
        return int(math.floor(value + 0.5)) if self.integer else float(value)


@dataclass(frozen=True)
class Excluded:
    key: str
    reason: str


@dataclass(frozen=True)
class Selection:
    factors: list[Factor]
    excluded: list[Excluded]  # assumed, read by an active rule, but not varied (and why)
    held: list[str]  # calibrated or measured parameters that active rules read: held at their values
    unread: list[str]  # assumed parameters no active rule of the study reads


def parameter_set_of(config_path: Path) -> ParameterSet:
    """The parameter set a scenario includes (one-line error if it includes none)."""
    from ..config.files import load_raw

    raw, _ = load_raw(config_path)
    include = raw.get("include")
    if not isinstance(include, str):
        raise ConfigError(f"{config_path}: include: a sensitivity study needs a scenario that includes the "
                          "parameter set (include: parameters/tissue_model.yaml)")
    return load_parameter_set(included_path(include, str(config_path)))


def readers(config) -> dict[str, list[str]]:
    """{dotted key: [rules that read it]} over the rules that run in `config` for the cell
    types it places, plus every property of the fields it simulates (the field solver's)."""
    running = set(Schedule(config.spec, config).rule_names())
    found: dict[str, list[str]] = {}
    for type_name in types_present(config):
        for rule in config.spec.types[type_name].rules:
            if f"{type_name}.{rule.name}" in running:
                for key in rule.reads:
                    found.setdefault(f"cells.{key}", []).append(f"{type_name}.{rule.name}")
    for field_name in config.fields:
        for name in type(config.fields[field_name]).model_fields:
            found.setdefault(f"fields.{field_name}.{name}", []).append(FIELD_SOLVER)
    return found


def upper_limit(config, key: str) -> float:
    """The config's own upper bound of a key (`le` of its pydantic field), or infinity."""
    section, group, name = key.split(".", 2)
    model = getattr(config.cells, group) if section == "cells" else config.fields[group]
    for constraint in type(model).model_fields[name].metadata:
        if getattr(constraint, "le", None) is not None:
            return float(constraint.le)
    return math.inf


def select(config_path: Path, arms: list[str], overrides: dict, range_factor: float = 2.0) -> Selection:
    """The factors of a study run as `arms` of `config_path` (with `overrides`, e.g. --quick's)."""
    if not range_factor > 1:
        raise ConfigError(f"--range: must be above 1 (a factor: 2 varies each parameter over value/2 to value*2), "
                          f"got {range_factor}")
    parameter_set = parameter_set_of(config_path)
    configs = [load_config(config_path, overrides, arm=arm, check_sources=False)[0] for arm in arms]  # sources: per run
    read: dict[str, list[str]] = {}
    for config in configs:
        for key, rules in readers(config).items():
            read.setdefault(key, [])
            read[key] += [rule for rule in rules if rule not in read[key]]
    present = {name for config in configs for name in types_present(config)}
    tissue, base = configs[0].tissue, configs[0]
    factors, excluded, held, unread = [], [], [], []
    for parameter in parameter_set.parameters.values():
        key = parameter.key
        if key not in read:
            if parameter.label == "assumed":
                unread.append(key)
            continue
        if parameter.label != "assumed":
            held.append(f"{key} ({parameter.label})")
            continue
        value = parameter.value_in(tissue)
        group = key.split(".")[1]
        reason = (f"no {group} cells in this scenario" if key.startswith("cells.") and group not in present
                  else _not_a_factor(value))
        if reason:
            excluded.append(Excluded(key, f"{reason}; read by {', '.join(read[key])}"))
            continue
        high = min(value * range_factor, upper_limit(base, key))
        factors.append(Factor(key, float(value), value / range_factor, high, isinstance(value, int),
                              tuple(read[key])))
    return Selection(factors, excluded, held, unread)


def _not_a_factor(value) -> str:
    if isinstance(value, bool):
        return "a switch (boolean), not a quantity"
    if value is None:
        return "null: the process is off"
    if not isinstance(value, (int, float)):
        return f"not a number ({value!r})"
    if value == 0:
        return "zero in this tissue: every multiple of zero is zero (the process is off)"
    if value < 0:
        return "negative: a multiplicative range does not apply"
    return ""
