#!/usr/bin/env python
"""Generate the parameter table in seeds/parameters.md from the scenario configs.

Every value comes straight from the six scenario configs (read with ``abm.config.sections.load_raw``),
and the source of each value is the end-of-line YAML comment on the line that sets it. Only the
part of seeds/parameters.md between the markers below is rewritten; the text around it is
written by hand. tests/test_parameter_table.py fails when that part is stale.

    python scripts/parameter_table.py            # rewrite the generated part of seeds/parameters.md
    python scripts/parameter_table.py --check    # exit 1 if seeds/parameters.md is out of date
    python scripts/parameter_table.py --stdout   # print the generated part instead of writing it

Rows: every leaf key under ``cells.*``, ``fields.*`` and ``interventions.*``, plus
``lattice.dx_um``, ``time.dt_min``, ``time.duration_h`` and the numbers of the ``placement``
entries, whether set in a config's body or by one of its arms.
"""
from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "seeds" / "parameters.md"
BEGIN = "<!-- BEGIN GENERATED -->"
END = "<!-- END GENERATED -->"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pydantic import BaseModel  # noqa: E402

from abm.config.sections import FieldConfig, config_model, load_raw  # noqa: E402
from abm.config.parameters import load_parameter_set, markdown_rows  # noqa: E402
from abm.config.plugins import builtin_spec  # noqa: E402

SPEC = builtin_spec()
Config = config_model(SPEC)

# The scenario configs, in column order.
SCENARIOS = [
    "configs/chan2020_organoid.yaml",
    "configs/lo2020_ctc_clusters.yaml",
    "configs/correia2021_liver.yaml",
    "configs/szczerba2019_neutrophils.yaml",
    "configs/northwestern2025_seeding.yaml",
    "configs/northwestern2025_clustering.yaml",
]

TOP_KEYS = {("lattice", "dx_um"), ("time", "dt_min"), ("time", "duration_h")}
SECTIONS = {"cells", "fields", "interventions"}
PLACEMENT_LABELS = {"pattern", "cell_type", "escort_type"}  # shown as context, not rows
DEFAULT_FIELD_UNITS = FieldConfig.model_fields["units"].default
ASSUMED = "**assumed**"


# --------------------------------------------------------------------------------------------
# reading the configs


def _eol_comment(line: str) -> str:
    """The text after a YAML end-of-line comment mark on this line ('' if none)."""
    single = double = False
    for i, ch in enumerate(line):
        if ch == "'" and not double:
            single = not single
        elif ch == '"' and not single and (i == 0 or line[i - 1] != "\\"):
            double = not double
        elif ch == "#" and not single and not double and (i == 0 or line[i - 1] in " \t"):
            return " ".join(line[i + 1:].split())
    return ""


def _is_scalar_list(value) -> bool:
    return isinstance(value, list) and not any(isinstance(item, (dict, list)) for item in value)


def _value_leaves(node, path=()):
    """(path, value) of every leaf of the loaded YAML; lists of mappings are walked by index."""
    if isinstance(node, dict):
        if not node and path:
            yield path, {}
        for key, value in node.items():
            yield from _value_leaves(value, path + (str(key),))
    elif isinstance(node, list) and not _is_scalar_list(node):
        for index, item in enumerate(node):
            yield from _value_leaves(item, path + (index,))
    else:
        yield path, node


def _line_leaves(node, path=(), line=None):
    """(path, 0-based line of the key) of every leaf of a composed YAML node tree."""
    if isinstance(node, yaml.MappingNode):
        if not node.value and path:
            yield path, line
        for key_node, value_node in node.value:
            yield from _line_leaves(value_node, path + (str(key_node.value),), key_node.start_mark.line)
    elif isinstance(node, yaml.SequenceNode) and any(
            isinstance(item, (yaml.MappingNode, yaml.SequenceNode)) for item in node.value):
        for index, item in enumerate(node.value):
            yield from _line_leaves(item, path + (index,), item.start_mark.line)
    else:
        yield path, line if line is not None else node.start_mark.line


def _row_key(path):
    """Config path -> (dotted key, arm name or None), or None when the key is not a row."""
    arm = None
    if path and path[0] == "arms":
        if len(path) < 3:
            return None
        arm = path[1]
        path = tuple(path[2].split(".")) + tuple(path[3:])
    parts = tuple(str(part) for part in path)
    if not parts:
        return None
    if parts in TOP_KEYS or (parts[0] in SECTIONS and len(parts) > 1):
        return ".".join(parts), arm
    if parts[0] == "placement" and len(parts) == 3 and parts[2] not in PLACEMENT_LABELS:
        return ".".join(parts), arm
    return None


class Scenario:
    def __init__(self, rel_path: str):
        self.path = rel_path
        raw, text = load_raw(ROOT / rel_path)
        self.raw = raw
        self.name = str(raw.get("name", Path(rel_path).stem))
        lines = text.splitlines()
        line_of = dict(_line_leaves(yaml.compose(text, Loader=yaml.SafeLoader)))
        self.arms = list((raw.get("arms") or {}).keys())
        self.base: dict[str, object] = {}                 # key -> value in the config's body
        self.by_arm: dict[str, dict[str, object]] = {}    # key -> {arm: value}
        self.comments: dict[str, list[str]] = {}          # key -> distinct end-of-line comments
        for path, value in _value_leaves(raw):
            row = _row_key(path)
            if row is None:
                continue
            key, arm = row
            if arm is None:
                self.base[key] = value
            else:
                self.by_arm.setdefault(key, {})[arm] = value
            line = line_of.get(path)
            comment = _eol_comment(lines[line]) if line is not None else ""
            if comment and comment not in self.comments.setdefault(key, []):
                self.comments[key].append(comment)
            self.comments.setdefault(key, [])

    def keys(self):
        return set(self.base) | set(self.by_arm)

    def field_units(self, field: str) -> str | None:
        fields = self.raw.get("fields") or {}
        if isinstance(fields, list):  # a scenario that includes the parameter set: its units are there
            return load_parameter_set(PARAMETER_SET).descriptions.get(f"fields.{field}.units") if field in fields else None
        spec = fields.get(field)
        if not isinstance(spec, dict):
            return None
        return str(spec.get("units", DEFAULT_FIELD_UNITS))

    def placement_context(self, index: int) -> str:
        entries = self.raw.get("placement") or []
        if not 0 <= index < len(entries) or not isinstance(entries[index], dict):
            return ""
        entry = entries[index]
        who = str(entry.get("cell_type", "?"))
        if entry.get("escort_type"):
            who += f" + {entry['escort_type']} escorts"
        return f"{who}, {entry.get('pattern', '?')}"


# --------------------------------------------------------------------------------------------
# row order: the order of the keys in the pydantic schema (as in docs/config.md)


def _models_in(annotation, in_list=False):
    """(model, inside a list) for the pydantic models an annotation refers to."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, in_list)]
    origin = typing.get_origin(annotation)
    found = []
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0], in_list)
    if origin in (list, tuple, set):
        in_list = True
    if origin in (typing.Union, types.UnionType) or origin in (list, tuple, set):
        for arg in typing.get_args(annotation):
            found += _models_in(arg, in_list)
    return found


def _schema_order() -> dict[str, int]:
    order: list[str] = []

    def walk(model, prefix):
        for name, info in model.model_fields.items():
            path = prefix + name
            if path not in order:
                order.append(path)
            for sub, in_list in _models_in(info.annotation):
                walk(sub, path + (".N." if in_list else "."))

    walk(Config, "")
    return {path: rank for rank, path in enumerate(order)}


def _sort_key(key: str, ranks: dict[str, int]):
    parts = key.split(".")
    unknown = len(ranks)
    if parts[0] == "fields" and len(parts) == 3:  # named fields: in the order the cell types declare them
        position = _DECLARED_FIELDS.index(parts[1]) if parts[1] in _DECLARED_FIELDS else len(_DECLARED_FIELDS)
        return (ranks.get("fields", unknown), position, list(FieldConfig.model_fields).index(parts[2])
                if parts[2] in FieldConfig.model_fields else unknown, key)
    if parts[0] == "placement" and len(parts) == 3 and parts[1].isdigit():
        generic = f"placement.N.{parts[2]}"
        return (ranks.get("placement", unknown), int(parts[1]), ranks.get(generic, unknown), key)
    return (ranks.get(key, unknown), -1, 0, key)


# --------------------------------------------------------------------------------------------
# units, from the key name


# Fields the cell types declare (abm/cells/*.py): a key naming one (or a multi-word field's last
# word, e.g. `cytokine`) is in that field's concentration units.
_DECLARED_FIELDS = list(dict.fromkeys(f.name for t in SPEC.types.values() for f in t.fields))
FIELD_TOKENS = [(name, name) for name in _DECLARED_FIELDS] + [
    (name.rsplit("_", 1)[-1], name) for name in _DECLARED_FIELDS if "_" in name]
INTERVENTION_FIELDS = {name: th.adds_production for name, (_, th) in SPEC.therapies.items() if th.adds_production}


def _field_of(key: str) -> str | None:
    parts = key.split(".")
    if parts[0] == "fields" and len(parts) > 2:
        return parts[1]
    if parts[0] == "interventions" and len(parts) > 2:
        return INTERVENTION_FIELDS.get(parts[1])
    for token, field in FIELD_TOKENS:
        if token in parts[-1]:
            return field
    return None


def _concentration(key: str, scenarios) -> str:
    field = _field_of(key)
    units = []
    for scenario in scenarios:
        if key in scenario.keys() and field:
            unit = scenario.field_units(field)
            if unit and unit not in units:
                units.append(unit)
    return " or ".join(units) if units else "conc."


def unit_of(key: str, values, scenarios) -> str:
    """Unit of a config key, from its name (suffix) and, for concentrations, the field's units."""
    leaf = key.split(".")[-1]
    if leaf == "units":
        return "label"
    if values and all(isinstance(value, bool) for value in values):
        return "flag (true/false)"
    if leaf.endswith("_um2_per_min"):
        return "um^2/min"
    if leaf.endswith("_per_mm3"):
        return "cells/mm^3"
    if leaf.endswith("_per_min"):
        if leaf.startswith("decay") or "uptake" in leaf:
            return "1/min"
        return f"{_concentration(key, scenarios)} per min"
    if leaf.endswith("_per_h"):
        return "1/h"
    if leaf.endswith("_um"):
        return "um"
    if leaf.endswith("_min"):
        return "min"
    if leaf.endswith("_h"):
        return "h"
    if "probability" in leaf:
        return "dimensionless (probability" + (" per contact)" if leaf.endswith("_per_contact") else ")")
    if leaf == "adhesion_per_contact":
        return "dimensionless (fraction of moves per contact)"
    if leaf.endswith("_per_contact"):
        return "a.u. (receptor level) per contact"
    if leaf in {"efficiency", "invasive_persistence", "chemotaxis_bias", "nk_suppression",
                "il15_survival_gain"} or leaf.endswith("_loss"):
        return "dimensionless (fraction)"
    if leaf.endswith("hill_n"):
        return "dimensionless (Hill exponent)"
    if leaf == "max_kills":
        return "kills"
    if leaf == "count":
        return "cells (clusters for `clusters`)"
    if leaf in {"cluster_size", "escorts_per_cluster"}:
        return "cells per cluster"
    if leaf.endswith("_neighbours_half"):
        return "tumor neighbours"
    if leaf.startswith("inflammation"):
        return "a.u. (inflammation level)"
    if leaf in {"cytokine_division_boost"}:
        return "dimensionless (multiple of base rate)"
    if leaf.endswith("_resistance") or leaf.endswith("_weight"):
        return "dimensionless (factor)"
    if "ligand" in leaf or "receptor" in leaf or leaf == "exposed_threshold":
        return "a.u. (receptor/ligand level)"
    if leaf.endswith("half_max") or leaf.endswith("threshold") or leaf in {"initial_value", "boundary_value"}:
        return _concentration(key, scenarios)
    return "a.u."


# --------------------------------------------------------------------------------------------
# rendering


def _number(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dict):
        return "{}" if not value else json.dumps(value, sort_keys=True)
    if isinstance(value, list):
        return "[" + ", ".join(_number(item) for item in value) + "]"
    if value is None:
        return "null"
    return str(value)


def _cell(text: str) -> str:
    return " ".join(str(text).replace("|", "\\|").split())


def _value_cell(scenario: Scenario, key: str) -> str:
    parts = []
    if key in scenario.base:
        text = _number(scenario.base[key])
        if key.startswith("placement."):
            context = scenario.placement_context(int(key.split(".")[1]))
            text += f" ({context})" if context else ""
        parts.append(text)
    groups: dict[str, list[str]] = {}
    for arm in scenario.arms:
        if arm in scenario.by_arm.get(key, {}):
            groups.setdefault(_number(scenario.by_arm[key][arm]), []).append(arm)
    for value, arms in groups.items():
        parts.append(f"{', '.join(arms)}: {value}")
    return "; ".join(parts)


def _source_cell(key: str, scenarios) -> str:
    setting = [s for s in scenarios if key in s.keys()]
    given: dict[str, list[str]] = {}   # comment -> scenario names giving it
    for scenario in setting:
        for comment in scenario.comments.get(key, []):
            given.setdefault(comment, []).append(scenario.name)
    if not given:
        return ASSUMED
    parts = []
    for comment, names in given.items():
        parts.append(comment if len(names) == len(setting) else f"{', '.join(names)}: {comment}")
    silent = [s.name for s in setting if not s.comments.get(key)]
    if silent:
        parts.append(f"other scenarios: {ASSUMED}")
    return "; ".join(parts)


def load_scenarios():
    return [Scenario(path) for path in SCENARIOS]


PARAMETER_SET = ROOT / "configs" / "parameters" / "tissue_model.yaml"


def table_keys(scenarios=None) -> list[str]:
    """Every key of either table: the parameter set's and those the scenarios set."""
    scenarios = scenarios or load_scenarios()
    ranks = _schema_order()
    keys = set().union(*(scenario.keys() for scenario in scenarios)) | set(load_parameter_set(PARAMETER_SET).parameters)
    return sorted(keys, key=lambda key: _sort_key(key, ranks))


def render_block(scenarios=None) -> str:
    """The generated part of seeds/parameters.md (without the markers)."""
    scenarios = scenarios or load_scenarios()
    ranks = _schema_order()
    keys = sorted(set().union(*(scenario.keys() for scenario in scenarios)), key=lambda key: _sort_key(key, ranks))
    parameter_set = load_parameter_set(PARAMETER_SET)
    labels = {label: len(parameter_set.labelled(label)) for label in ("measured", "assumed", "calibrated")}
    out = [
        "<!-- Generated by scripts/parameter_table.py from the parameter set and the scenario configs; do not",
        "     edit by hand. Regenerate with: python scripts/parameter_table.py -->",
        "",
        f"### The parameter set (`{PARAMETER_SET.relative_to(ROOT)}`)",
        "",
        f"{len(parameter_set.parameters)} parameters: " + ", ".join(f"{n} {label}" for label, n in labels.items())
        + ". Every scenario includes this set; a tissue-specific value applies in the scenarios of that tissue "
          "(" + ", ".join(f"`{name}`: {text}" for name, text in parameter_set.tissues.items()) + ").",
        "",
        *markdown_rows(parameter_set, lambda key, values: unit_of(key, values, []).replace("conc.", "a.u.")),
        "",
        "### What each scenario sets",
        "",
        "Geometry, time, placement, and the arms (an arm may change a parameter: that is its experiment).",
        "",
        "Columns (scenario `name` = config file): "
        + "; ".join(f"`{s.name}` = `{s.path}`" for s in scenarios) + ".",
        "",
    ]
    calibrated = [(key, s.name) for key in keys for s in scenarios
                  if any("calibrat" in comment.lower() for comment in s.comments.get(key, []))]
    if calibrated:
        out.append("Config comments that record a calibration: "
                   + ", ".join(f"`{key}` ({name})" for key, name in calibrated) + ".")
        out.append("")
    header = ["key", "unit"] + [f"`{s.name}`" for s in scenarios] + ["source / justification (config comment)"]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "---|" * len(header))
    for key in keys:
        values = [s.base[key] for s in scenarios if key in s.base]
        values += [v for s in scenarios for v in s.by_arm.get(key, {}).values()]
        row = [f"`{key}`", unit_of(key, values, scenarios)]
        row += [_value_cell(s, key) for s in scenarios]
        row.append(_source_cell(key, scenarios))
        out.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
    return "\n".join(out) + "\n"


def splice(document: str, block: str) -> str:
    """The document with the text between the markers replaced by block."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < 0 or end < start:
        raise SystemExit(f"{DOC.relative_to(ROOT)}: markers {BEGIN} / {END} not found (in that order)")
    return document[:start] + BEGIN + "\n" + block + document[end:]


def is_up_to_date(doc: Path = DOC) -> bool:
    """True when the generated part of the document matches the configs."""
    if not doc.exists():
        return False
    current = doc.read_text()
    return splice(current, render_block()) == current


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if seeds/parameters.md is out of date")
    parser.add_argument("--stdout", action="store_true", help="print the generated table instead of writing it")
    args = parser.parse_args(argv)
    if args.stdout:
        sys.stdout.write(render_block())
        return 0
    if args.check:
        if not is_up_to_date():
            print(f"{DOC.relative_to(ROOT)} is out of date; run python scripts/parameter_table.py", file=sys.stderr)
            return 1
        return 0
    current = DOC.read_text()
    updated = splice(current, render_block())
    if updated != current:
        DOC.write_text(updated)
        print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    else:
        print(f"{DOC.relative_to(ROOT)} is up to date", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
