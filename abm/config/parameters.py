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

The set is checked whole when it is read, whichever scenario includes it: every value, in every
tissue, as strictly as a config checks it (each cell section by its type's config model, each
field by the field model), so that a value no scenario uses today cannot hide a NaN, a string or
a negative rate. A plugin ships its own set in the same format (its module's PARAMETER_SET, a
file inside its package: abm/config/plugins.py); a scenario that includes the shared set and names the
plugin gets the plugin's values too.
"""
from __future__ import annotations

import hashlib
import importlib.resources
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError

LABELS = ("measured", "assumed", "calibrated")
CALIBRATED_KEYS = ("target", "data", "seeds")
SECTIONS = ("cells", "fields")
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # as a config's field names (abm/config/sections.py)


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

    def groups(self, section: str) -> list[str]:
        """The cell types (section cells) or fields (section fields) the set holds, in file order."""
        keys = [*self.parameters, *self.descriptions]
        return list(dict.fromkeys(key.split(".")[1] for key in keys if key.startswith(f"{section}.")))

    def joined(self, other: "ParameterSet") -> "ParameterSet":
        """This set with a plugin's set added: its cell types and fields must be new here, and a
        tissue it declares must be one of this set's (its exceptions would otherwise never apply)."""
        for tissue in other.tissues:
            if tissue not in self.tissues:
                raise ConfigError(f"{other.path}: tissues.{tissue}: not a tissue of {self.path.name}, which the "
                                  f"scenario includes (tissues: {', '.join(self.tissues)})")
        for section in SECTIONS:
            for group in other.groups(section):
                if group in self.groups(section):
                    raise ConfigError(f"{other.path}: {section}.{group}: already in {self.path.name}; a plugin's set "
                                      "holds only its own cell types and fields")
        return ParameterSet(self.path, self.digest, self.tissues, {**self.parameters, **other.parameters},
                            {**self.descriptions, **other.descriptions})


def load_parameter_set(path: str | Path, spec=None, types: tuple[str, ...] | None = None) -> ParameterSet:
    """Read and check a parameter set file (one-line ConfigError naming the file and key): its
    form, then every value in every tissue against the config models of `spec` (default: the
    built-in types). `types`: the cell types the set must hold, each with every parameter
    (default: every built-in type; a plugin's set: the types the plugin adds)."""
    from .files import load_raw
    from .plugins import builtin_spec

    path = Path(path)
    raw, text = load_raw(path)
    _refuse_non_finite(raw, path, "")
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
            if not isinstance(entries, dict) or not entries:  # empty: a group no check would see
                raise ConfigError(f"{path}: {section}.{group}: expected a mapping of parameters")
            for name, entry in entries.items():
                key = f"{section}.{group}.{name}"
                if isinstance(entry, str):
                    descriptions[key] = entry
                else:
                    parameters[key] = _parameter(path, key, entry, tissues)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    parameter_set = ParameterSet(path, digest, dict(tissues), parameters, descriptions)
    spec = spec or builtin_spec()
    check_values(parameter_set, spec, tuple(builtin_spec().types) if types is None else tuple(types))
    return parameter_set


def _refuse_non_finite(node, path: Path, key: str) -> None:
    """NaN or infinity anywhere in a set is an error for every scenario, used or not (a NaN in a
    note or a tissue no scenario names today would surface only when one does)."""
    if isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(f"{path}: {key or '(top level)'}: {node} is not a finite number (a parameter set "
                          "holds no NaN or infinity)")
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for name, child in items:
        _refuse_non_finite(child, path, f"{key}.{name}" if key else str(name))


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
    declared = entry.get("tissues") or {}
    if not isinstance(declared, dict):
        raise ConfigError(f"{path}: {key}.tissues: expected a mapping of tissue name to {{value, reason, source}}")
    exceptions = {}
    for tissue, exception in declared.items():
        if tissue not in tissues:
            raise ConfigError(f"{path}: {key}.tissues.{tissue}: unknown tissue (tissues: "
                              f"{', '.join(tissues) or 'none declared'})")
        if not isinstance(exception, dict) or set(exception) != {"value", "reason", "source"}:
            raise ConfigError(f"{path}: {key}.tissues.{tissue}: a tissue-specific value needs value, reason and "
                              "source, and nothing else")
        for part in ("reason", "source"):
            if not isinstance(exception[part], str) or not exception[part].strip():
                raise ConfigError(f"{path}: {key}.tissues.{tissue}.{part}: expected a text")
        exceptions[tissue] = TissueValue(exception["value"], exception["reason"], exception["source"])
    return Parameter(key, entry["value"], label, note, exceptions)


def check_values(parameter_set: ParameterSet, spec, types: tuple[str, ...]) -> None:
    """Every cell type and field of the set, in its base values and in every declared tissue,
    validated by the model a config is validated with (strict numbers, ranges, unknown keys);
    each of `types` holds every parameter of its config model. Errors name the file and key."""
    from ..configtypes import FieldConfig

    path = parameter_set.path
    cells, fields = parameter_set.groups("cells"), parameter_set.groups("fields")
    for group in cells:
        if group not in types:
            problem = "no such cell type" if group not in spec.types else "a cell type this set does not hold"
            raise ConfigError(f"{path}: cells.{group}: {problem} (its types: {', '.join(types) or 'none'}; a "
                              "plugin's types take their values from the plugin's own parameter set)")
    for group in types:
        missing = [name for name in spec.types[group].config.model_fields
                   if f"cells.{group}.{name}" not in parameter_set.parameters]
        if missing:
            raise ConfigError(f"{path}: cells.{group}.{missing[0]}: missing; the set labels every parameter of "
                              f"cell type {group!r}")
    for group in fields:
        if not FIELD_NAME.match(group) or len(group) > 64:
            raise ConfigError(f"{path}: fields.{group}: not a field name (letters, digits, _; at most 64)")
    for tissue in (None, *parameter_set.tissues):
        resolved = parameter_set.section(tissue, fields)
        for section, group in [("cells", g) for g in cells] + [("fields", g) for g in fields]:
            model = spec.types[group].config if section == "cells" else FieldConfig
            try:
                model.model_validate(resolved[section][group])
            except ValidationError as error:
                raise ConfigError(_value_problem(parameter_set, section, group, tissue, error)) from None


def _value_problem(parameter_set: ParameterSet, section: str, group: str, tissue, error: ValidationError) -> str:
    """The first problem, one line: the file, the key as written (`.value`, or the tissue's
    `.tissues.NAME.value` where the value came from), what is wrong."""
    item = error.errors()[0]
    name = str(item["loc"][0]) if item["loc"] else None
    key = f"{section}.{group}" + (f".{name}" if name else "")
    parameter = parameter_set.parameters.get(key)
    if parameter is not None:
        key += f".tissues.{tissue}.value" if tissue in parameter.tissues else ".value"
    elif name is None and tissue is not None:
        key += f" (in tissue {tissue})"
    kind, message = item["type"], item["msg"]
    if kind == "extra_forbidden":
        message = f"unknown key (not a parameter of {'cell type' if section == 'cells' else 'field'} {group!r})"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "value_error":
        message = message.removeprefix("Value error, ")
    elif "input" in item and not isinstance(item["input"], (dict, list)):
        text = repr(item["input"])
        message = f"{message} (got {text if len(text) <= 60 else text[:57] + '...'})"
    return " ".join(f"{parameter_set.path}: {key}: {message}".split())


def expand_include(raw: dict, source: str) -> dict:
    """A scenario that includes a parameter set, as the plain config it stands for.

    `include` (a path relative to the scenario file, or abm:NAME for a set shipped with the
    package) and `tissue` name the set and the context;
    `fields` lists the cytokines the scenario simulates (their properties come from the set).
    The scenario may not set a cell parameter or a field property itself: a value that differs
    between tissues is declared in the set, with its reason and source. Arms and --set may
    still change any key (they are the experiment). The plugins the scenario names add their
    own sets (plugin_sets)."""
    if "tissues" in raw and "lattice" not in raw:
        raise ConfigError(f"{source}: is a parameter set (tissues, cells, fields), not a scenario: include it "
                          "from a scenario (include: PATH, tissue: NAME)")
    if "include" not in raw:
        return raw
    include = raw.pop("include")
    if not isinstance(include, str):
        raise ConfigError(f"{source}: include: expected the path of the parameter set file")
    path = included_path(include, source)
    if "cells" in raw:
        raise ConfigError(f"{source}: cells: a scenario that includes {include} sets no cell parameter; change it "
                          f"in {include} (or declare a tissue-specific value there), or in an arm")
    fields = raw.get("fields") or []
    if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
        raise ConfigError(f"{source}: fields: with include, list the fields the scenario simulates "
                          f"(e.g. [ifng]); their properties come from {include}")
    if not path.is_file():
        raise ConfigError(f"{source}: include: parameter set {include!r} not found (looked for {path})")
    shared = load_parameter_set(path)
    tissue = raw.get("tissue")
    if tissue not in shared.tissues:
        raise ConfigError(f"{source}: tissue: {tissue!r} is not a tissue of {include} "
                          f"(tissues: {', '.join(shared.tissues)})")
    parameter_set, recorded = plugin_sets(shared, raw.get("plugins"), source, include)
    missing = [name for name in fields if name not in parameter_set.field_names()]
    if missing:
        where = f"{include} or of the sets of its plugins" if recorded else include
        raise ConfigError(f"{source}: fields: {missing[0]!r} is not a field of {where} "
                          f"(fields: {', '.join(parameter_set.field_names())})")
    raw.update(parameter_set.section(tissue, fields))
    raw["parameter_set"] = f"{path.name} sha256:{shared.digest}"
    if recorded:  # provenance, as parameter_set: which file and which bytes gave the plugins' values
        raw["plugin_parameter_sets"] = recorded
    return raw


SHIPPED = "abm:"  # include: abm:tissue_model.yaml, the set shipped inside the package (abm.parameter_sets)


def included_path(include: str, source: str) -> Path:
    """The file an `include:` names: `abm:NAME` is a set shipped with tissue-abm (so a scenario
    outside this repository, a plugin's own, can include the shared set); otherwise a path,
    relative to the scenario file."""
    if include.startswith(SHIPPED):
        shipped = importlib.resources.files("abm.parameter_sets") / include[len(SHIPPED):]
        return Path(str(shipped))  # a real file: the package is installed unzipped
    return Path(include) if Path(include).is_absolute() else Path(source).parent / include


def plugin_sets(shared: ParameterSet, plugins, source: str, include: str) -> tuple[ParameterSet, dict]:
    """`shared` joined with the sets of the scenario's plugins, and {plugin: "file sha256:..."}.
    A plugin that adds a cell type must ship a set: an including scenario sets no cell parameter."""
    if not plugins or not isinstance(plugins, list) or not all(isinstance(name, str) for name in plugins):
        return shared, {}  # none, or a malformed list that validate() reports
    from .plugins import build_spec, parameter_set_file, types_by_plugin

    try:
        spec, added = build_spec(tuple(plugins)), types_by_plugin(tuple(plugins))
        files = {name: parameter_set_file(name) for name in plugins}
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    joined, recorded = shared, {}
    for name in plugins:
        if files[name] is None:
            if added[name]:
                raise ConfigError(f"{source}: plugins: {name!r} adds cell type {added[name][0]!r} but ships no "
                                  f"parameter set (PARAMETER_SET), and a scenario that includes {include} sets no "
                                  "cell parameter (see docs/extending.md)")
            continue
        with importlib.resources.as_file(files[name]) as path:
            plugin_set = load_parameter_set(path, spec, added[name])
        joined = joined.joined(plugin_set)
        recorded[name] = f"{plugin_set.path.name} sha256:{plugin_set.digest}"
    return joined, recorded


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
