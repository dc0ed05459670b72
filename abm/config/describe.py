"""`abm rules CONFIG`: every rule of the cell types a config places, as a sentence with the
parameters it reads (values and units), and whether it runs in this config."""
from __future__ import annotations

import numpy as np

UNIT_SUFFIXES = (  # key suffix -> units, longest first
    ("_um2_per_min", "um^2/min"), ("_per_mm3", "cells/mm^3 (a 2D lattice: a slab one site thick)"), ("_per_site", "cells/site"),
    ("_per_min", "1/min"), ("_per_h", "1/h"), ("_per_contact", "probability per contact"),
    ("_min", "min"), ("_h", "h"), ("_um", "um"),
)


def units_of(key: str, value, section=None) -> str:
    """Units of a config key: declared on its field (``json_schema_extra={"units": ...}``), else
    from its name (units live in the key names). `section`: the pydantic model of its section."""
    declared = _declared_units(section, key.rpartition(".")[2])
    if declared:
        return declared
    if "receptor" in key:  # NK inhibitory receptors: a level, also where it is added per contact
        return "receptor level per contact" if key.endswith("_per_contact") else "receptor level"
    for suffix, units in UNIT_SUFFIXES:
        if key.endswith(suffix):
            return units
    if isinstance(value, bool):
        return "switch"
    if key.endswith(("_half_max", "_threshold")):
        return "concentration, in the field's units"
    if key.endswith("_n"):
        return "Hill exponent"
    if isinstance(value, int):
        return "count"
    if "probability" in key or key.endswith(("_loss", "_gain", "_bias", "_persistence", "_suppression")):
        return "fraction" if not key.endswith("_gain") else "level"
    return "level"


def _declared_units(section, name: str) -> str | None:
    field = getattr(section, "model_fields", {}).get(name) if section is not None else None
    extra = getattr(field, "json_schema_extra", None)
    return extra.get("units") if isinstance(extra, dict) else None


def _section(config, key: str):
    return type(getattr(config.cells, key.partition(".")[0]))


def _value(config, key: str):
    type_name, _, name = key.partition(".")
    return getattr(getattr(config.cells, type_name), name)


def types_present(config) -> list[str]:
    names = []
    for p in config.placement:
        for name in (p.cell_type, getattr(p, "escort_type", None)):
            if name and name not in names:
                names.append(name)
    return [name for name in config.spec.type_names if name in names]


def rule_lines(config, schedule) -> list[str]:
    """The listing, one rule per block (name, status, sentence, parameters)."""
    spec = config.spec
    running = set(schedule.rule_names())
    lines = []
    for type_name in types_present(config):
        declared = spec.types[type_name]
        lines.append(f"{type_name}: {declared.describe}" if declared.describe else type_name)
        for rule in declared.rules:
            full = f"{type_name}.{rule.name}"
            status = ("ablated" if full in schedule.ablated else
                      "runs" if full in running else "inactive in this config")
            lines.append(f"  {full}  [{rule.phase}, {status}]")
            lines.append(f"      {rule.describe}")
            for key in rule.reads:
                value = _value(config, key)
                lines.append(f"      cells.{key} = {value} ({units_of(key, value, _section(config, key))})")
        for use in declared.fields:
            simulated = "simulated" if use.name in config.fields else "not simulated in this config"
            lines.append(f"  field {use.name} ({simulated}): {use.describe}")
        params = declared.prepare(config.cells, config.time.dt_min, {})
        for behaviour in declared.behaviours:
            base = in_units(behaviour.base(params), behaviour.units, config.time.dt_min)
            lines.append(f"  behaviour {type_name}.{behaviour.name} ({behaviour.units}, base {base:.4g}): "
                         f"{behaviour.describe}; acted on by {type_name}.{behaviour.used_by}")
    if config.rules:
        lines.append("grammar rules (config rules:)")
        for i, rule in enumerate(config.rules):
            lines.append(f"  rules.{i}: {rule.sentence()}")
    if schedule.ablated:
        lines.append(f"ablated: {', '.join(schedule.ablated)}")
    return lines


def in_units(per_step: float, units: str, dt_min: float) -> float:
    """A behaviour's per-step value in its units: the inverse of grammar.per_step."""
    if units == "1/h":
        return float(-np.log1p(-min(per_step, 1.0 - 1e-12)) * 60.0 / dt_min)
    if units == "1/min":
        return float(per_step / dt_min)
    return float(per_step)


def behaviour_rows(config) -> list[tuple]:
    """(type, behaviour, units, base value in units, base key, acting rule, description) for every
    behaviour of every type of the config's model: the behaviour dictionary."""
    rows = []
    for type_name, declared in config.spec.types.items():
        params = declared.prepare(config.cells, config.time.dt_min, {})
        for b in declared.behaviours:
            base = in_units(b.base(params), b.units, config.time.dt_min)
            rows.append((type_name, b.name, b.units, base, b.base_key, f"{type_name}.{b.used_by}", b.describe))
    return rows
