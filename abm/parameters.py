"""The tissue model's one parameter set: every cell-intrinsic and cytokine parameter, labelled.

A scenario file includes the set (`include: tissue_model.yaml`) and names its tissue context
(`tissue: liver`); it then sets geometry, placement and arms, never a cell parameter. Each
entry of the set is a mapping with its value and exactly one label:

    kill_probability_per_contact:
      value: 0.25
      calibrated: {target: ..., data: ..., seeds: ...}   # or measured: "source, doi"
                                                         # or assumed: "why this order"
      tissues:                                           # optional, declared exceptions
        liver: {value: 0.02, reason: ..., source: ...}

Plain strings (a field's units, its boundary kind) are descriptions, not parameters.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

LABELS = ("measured", "assumed", "calibrated")
CALIBRATED_KEYS = ("target", "data", "seeds")
SECTIONS = ("cells", "fields")


@dataclass(frozen=True)
class TissueValue:
    value: Any
    reason: str
    source: str


@dataclass(frozen=True)
class Parameter:
    """One labelled parameter: `key` is dotted (cells.nk.kill_probability_per_contact)."""
    key: str
    value: Any
    label: str  # measured / assumed / calibrated
    note: Any  # the source (measured), the reason (assumed), or {target, data, seeds} (calibrated)
    tissues: dict[str, TissueValue] = field(default_factory=dict)

    def value_in(self, tissue: str | None) -> Any:
        return self.tissues[tissue].value if tissue in self.tissues else self.value


@dataclass(frozen=True)
class ParameterSet:
    path: Path
    digest: str  # sha256 of the file's bytes, first 12 hex digits
    tissues: dict[str, str]  # name -> description
    parameters: dict[str, Parameter]  # dotted key -> Parameter
    descriptions: dict[str, str]  # dotted key -> plain string (units, boundary)

    def section(self, tissue: str | None, fields: list[str]) -> dict:
        """{"cells": {...}, "fields": {...}} as a scenario in `tissue` simulating `fields` sees them."""
        resolved: dict = {"cells": {}, "fields": {name: {} for name in fields}}
        for key, value in [(p.key, p.value_in(tissue)) for p in self.parameters.values()] + list(self.descriptions.items()):
            section, group, name = key.split(".", 2)
            if section == "fields" and group not in fields:
                continue
            resolved[section].setdefault(group, {})[name] = value
        return resolved

    def labelled(self, label: str) -> list[Parameter]:
        return [p for p in self.parameters.values() if p.label == label]

    def field_names(self) -> list[str]:
        return sorted({key.split(".")[1] for key in [*self.parameters, *self.descriptions] if key.startswith("fields.")})


def load_parameter_set(path: str | Path) -> ParameterSet:
    """Read and check a parameter set file (one-line ConfigError naming the file and key)."""
    from .config_files import load_raw

    path = Path(path)
    raw, text = load_raw(path)
    unknown = sorted(set(raw) - {"tissues", *SECTIONS})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key {unknown[0]!r} (a parameter set has tissues, cells, fields)")
    tissues = raw.get("tissues") or {}
    if not isinstance(tissues, dict) or not all(isinstance(v, str) for v in tissues.values()):
        raise ConfigError(f"{path}: tissues: expected a mapping of tissue name to its description")
    parameters, descriptions = {}, {}
    for section in SECTIONS:
        groups = raw.get(section) or {}
        if not isinstance(groups, dict):
            raise ConfigError(f"{path}: {section}: expected a mapping")
        for group, entries in groups.items():
            if not isinstance(entries, dict):
                raise ConfigError(f"{path}: {section}.{group}: expected a mapping of parameters")
            for name, entry in entries.items():
                key = f"{section}.{group}.{name}"
                if isinstance(entry, str):
                    descriptions[key] = entry
                else:
                    parameters[key] = _parameter(path, key, entry, tissues)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return ParameterSet(path, digest, dict(tissues), parameters, descriptions)


def _parameter(path: Path, key: str, entry, tissues: dict) -> Parameter:
    if not isinstance(entry, dict) or "value" not in entry:
        raise ConfigError(f"{path}: {key}: expected {{value: ..., measured|assumed|calibrated: ...}}, "
                          f"got {entry!r}")
    labels = [label for label in LABELS if label in entry]
    if len(labels) != 1:
        raise ConfigError(f"{path}: {key}: needs exactly one label of {', '.join(LABELS)} (found "
                          f"{', '.join(labels) or 'none'})")
    label = labels[0]
    unknown = sorted(set(entry) - {"value", label, "tissues"})
    if unknown:
        raise ConfigError(f"{path}: {key}: unknown key {unknown[0]!r}")
    note = entry[label]
    if label == "calibrated":
        if not isinstance(note, dict) or any(not note.get(k) for k in CALIBRATED_KEYS):
            raise ConfigError(f"{path}: {key}: calibrated needs {{{', '.join(CALIBRATED_KEYS)}}}")
    elif not isinstance(note, str) or not note.strip():
        raise ConfigError(f"{path}: {key}: {label} needs a text ({'the source' if label == 'measured' else 'why'})")
    exceptions = {}
    for tissue, exception in (entry.get("tissues") or {}).items():
        if tissue not in tissues:
            raise ConfigError(f"{path}: {key}.tissues.{tissue}: unknown tissue (tissues: {', '.join(tissues)})")
        if not isinstance(exception, dict) or set(exception) != {"value", "reason", "source"}:
            raise ConfigError(f"{path}: {key}.tissues.{tissue}: a tissue-specific value needs value, reason and "
                              "source, and nothing else")
        exceptions[tissue] = TissueValue(exception["value"], exception["reason"], exception["source"])
    return Parameter(key, entry["value"], label, note, exceptions)


def expand_include(raw: dict, source: str) -> dict:
    """A scenario that includes a parameter set, as the plain config it stands for.

    `include` (a path relative to the scenario file) and `tissue` name the set and the context;
    `fields` lists the cytokines the scenario simulates (their properties come from the set).
    The scenario may not set a cell parameter or a field property itself: a value that differs
    between tissues is declared in the set, with its reason and source. Arms and --set may
    still change any key (they are the experiment)."""
    if "tissues" in raw and "lattice" not in raw:
        raise ConfigError(f"{source}: is a parameter set (tissues, cells, fields), not a scenario: include it "
                          "from a scenario (include: PATH, tissue: NAME)")
    if "include" not in raw:
        return raw
    include = raw.pop("include")
    if not isinstance(include, str):
        raise ConfigError(f"{source}: include: expected the path of the parameter set file")
    path = Path(include) if Path(include).is_absolute() else Path(source).parent / include
    if "cells" in raw:
        raise ConfigError(f"{source}: cells: a scenario that includes {include} sets no cell parameter; change it "
                          f"in {include} (or declare a tissue-specific value there), or in an arm")
    fields = raw.get("fields") or []
    if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
        raise ConfigError(f"{source}: fields: with include, list the fields the scenario simulates "
                          f"(e.g. [ifng]); their properties come from {include}")
    if not path.is_file():
        raise ConfigError(f"{source}: include: parameter set {include!r} not found (looked for {path})")
    parameter_set = load_parameter_set(path)
    tissue = raw.get("tissue")
    if tissue not in parameter_set.tissues:
        raise ConfigError(f"{source}: tissue: {tissue!r} is not a tissue of {include} "
                          f"(tissues: {', '.join(parameter_set.tissues)})")
    missing = [name for name in fields if name not in parameter_set.field_names()]
    if missing:
        raise ConfigError(f"{source}: fields: {missing[0]!r} is not a field of {include} "
                          f"(fields: {', '.join(parameter_set.field_names())})")
    raw.update(parameter_set.section(tissue, fields))
    raw["parameter_set"] = f"{path.name} sha256:{parameter_set.digest}"
    return raw


def markdown_rows(parameter_set: ParameterSet, unit_of) -> list[str]:
    """The set as a markdown table: key, unit, value, label, its source/reason/calibration, and
    the tissues where it differs. `unit_of(key, values)` names a key's unit."""
    rows = ["| key | unit | value | label | source, reason or calibration | tissue-specific values |",
            "|---|---|---|---|---|---|"]
    for p in parameter_set.parameters.values():
        if p.label == "calibrated":
            note = "; ".join(f"{k}: {p.note[k]}" for k in CALIBRATED_KEYS)
        else:
            note = p.note
        tissues = "; ".join(f"{name}: {_plain(t.value)} ({t.reason}; {t.source})" for name, t in p.tissues.items())
        cells = [f"`{p.key}`", unit_of(p.key, [p.value]), _plain(p.value), f"**{p.label}**", note, tissues]
        rows.append("| " + " | ".join(" ".join(str(c).replace("|", "\\|").split()) for c in cells) + " |")
    return rows


def _plain(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
