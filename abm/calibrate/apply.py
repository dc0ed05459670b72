"""`abm calibrate --apply`: write the best values into the parameter set as a text edit.

Only two lines of each fitted entry change: its `value:` and its `calibrated.seeds:` (what fitted
it, on which seeds, when). Everything else -- comments, order, the other entries, the declared
tissue values -- stays byte for byte, which a YAML load-and-dump would not keep.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..errors import ConfigError

SIGNIFICANT_DIGITS = 4  # more would claim a precision the seed-to-seed noise does not give


def format_value(value: float) -> str:
    """A plain decimal YAML reads as a float (no exponent: PyYAML reads '1e-05' as a string)."""
    text = np.format_float_positional(float(f"{value:.{SIGNIFICANT_DIGITS}g}"), trim="-")
    return text if "." in text else text + ".0"


def _key_line(lines: list[str], name: str, start: int, stop: int, indent: int) -> int:
    """Index of the line `name:` directly under the block (start, stop) at `indent` spaces."""
    pattern = re.compile(rf"^ {{{indent}}}{re.escape(name)}:(\s|$)")
    for index in range(start, stop):
        if pattern.match(lines[index]):
            return index
    return -1


def _block_end(lines: list[str], start: int) -> int:
    """First line after `start` indented no deeper than it (comments and blank lines belong to it)."""
    own = len(lines[start]) - len(lines[start].lstrip(" "))
    for index in range(start + 1, len(lines)):
        text = lines[index].strip()
        if text and not text.startswith("#") and len(lines[index]) - len(lines[index].lstrip(" ")) <= own:
            return index
    return len(lines)


def _find(lines: list[str], dotted: str) -> int:
    """Line index of a dotted key (cells.nk.kill_probability_per_contact), each level nested deeper."""
    start, stop, indent = 0, len(lines), 0
    index = -1
    for depth, name in enumerate(dotted.split(".")):
        index = -1
        for candidate_indent in ([0] if depth == 0 else range(indent + 1, indent + 9)):
            index = _key_line(lines, name, start, stop, candidate_indent)
            if index >= 0:
                indent = candidate_indent
                break
        if index < 0:
            return -1
        start, stop = index + 1, _block_end(lines, index)
    return index


def _replace_scalar(line: str, text: str) -> str:
    """The line with the scalar after `key:` replaced, keeping indentation and a trailing comment."""
    match = re.match(r"^(\s*[\w.]+:\s*)(.*?)(\s+#.*)?(\r?\n)?$", line)
    return f"{match.group(1)}{text}{match.group(3) or ''}{match.group(4) or ''}"


def apply_best(parameter_set: Path, values: dict[str, float], provenance: str) -> str:
    """Rewrite `parameter_set` with the fitted values; returns the new text (also written)."""
    from ..config.parameters import load_parameter_set

    lines = parameter_set.read_text().splitlines(keepends=True)
    for key, value in values.items():
        entry = _find(lines, key)
        value_line = _find(lines, f"{key}.value")
        seeds_line = _find(lines, f"{key}.calibrated.seeds")
        if min(entry, value_line, seeds_line) < 0:
            raise ConfigError(f"{parameter_set}: {key}: no value: and calibrated.seeds: lines to update")
        lines[value_line] = _replace_scalar(lines[value_line], format_value(value))
        end = _block_end(lines, seeds_line)  # a seeds text folded over several lines: keep one
        lines[seeds_line] = _replace_scalar(lines[seeds_line], json.dumps(provenance))
        del lines[seeds_line + 1:end]
    text = "".join(lines)
    parameter_set.write_text(text)
    written = load_parameter_set(parameter_set)  # the edit must read back as intended
    for key, value in values.items():
        if written.parameters[key].value != float(format_value(value)):
            raise ConfigError(f"{parameter_set}: {key}: the edit did not read back as {format_value(value)}")
    return text
