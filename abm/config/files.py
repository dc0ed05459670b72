"""Reading config files and reporting what is wrong with them: the YAML loader (a key written
twice is an error), dotted overrides (`--set`, arms), and pydantic's errors as one line."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import ConfigError


def parse_override(text: str) -> tuple[str, Any]:
    """'a.b.c=value' -> ('a.b.c', parsed YAML scalar/list)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. cells.nk.kill_probability_per_contact=0.2")
    key, _, value = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {text!r}: empty key or empty part in {key!r}; expected e.g. cells.nk.move_rate_per_h=5")
    try:
        return key, yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {key}: value {value!r} is not valid YAML ({error.__class__.__name__})") from None


def apply_overrides(raw: dict, overrides: dict[str, Any], source: str) -> dict:
    """Set dotted keys in a nested dict (list items by index: placement.0.count)."""
    for key, value in overrides.items():
        parts = key.split(".")
        node: Any = raw
        for depth, part in enumerate(parts[:-1]):
            child = _child(node, part)
            if child is None:
                if isinstance(node, dict):
                    node[part] = child = {}
                else:
                    raise ConfigError(f"{source}: --set {key}: no item {'.'.join(parts[:depth + 1])}")
            node = child
        last = parts[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise ConfigError(f"{source}: --set {key}: no item {last} in {'.'.join(parts[:-1])}")
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ConfigError(f"{source}: --set {key}: {'.'.join(parts[:-1])} is not a section")
    return raw


def _child(node, part):
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return None


MAX_PROBLEMS = 5  # per message; the rest are counted


def _short_repr(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _format_validation_error(error: ValidationError, source: str) -> str:
    """One line: '<file>: key.path: what is wrong; other.key: ...'."""
    problems = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"] if part not in ("ball", "scatter", "clusters", "from_run")]  # pattern tags
        key = ".".join(loc) or "(top level)"
        message = item["msg"]
        kind = item["type"]
        if kind == "extra_forbidden":
            message = "unknown key"
            if len(loc) == 2 and loc[0] == "cells":  # a whole section: the type may come from a plugin
                message += f" (no cell type {loc[1]!r}: is its plugin missing from plugins:?)"
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "union_tag_invalid":  # placement entry with an unknown pattern
            key, message = f"{key}.pattern", f"unknown pattern {item['ctx']['tag']!r}; expected {item['ctx']['expected_tags']}"
        elif kind == "union_tag_not_found":
            key, message = f"{key}.pattern", "required key is missing (ball, scatter, clusters or from_run)"
        elif kind == "value_error":  # our own validators: the message starts with the key when loc is empty
            message = message.removeprefix("Value error, ")
            if not loc:
                problems.append(message)
                continue
        elif "input" in item and not isinstance(item["input"], (dict, list)):
            message = f"{message} (got {_short_repr(item['input'])})"
        problems.append(f"{key}: {message}")
    if len(problems) > MAX_PROBLEMS:
        problems = problems[:MAX_PROBLEMS] + [f"and {len(problems) - MAX_PROBLEMS} more problems"]
    return " ".join(f"{source}: {'; '.join(problems)}".split())  # one line, whatever the messages contain


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key written twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_raw(path: str | Path) -> tuple[dict, str]:
    """Read a YAML file into a dict; returns (dict, text)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a YAML config file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config ({error.__class__.__name__}: {error})") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{path}: YAML syntax error{where}: {problem}") from None
    if raw is None:
        raise ConfigError(f"{path}: config file is empty")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping of keys, got {type(raw).__name__}")
    return raw, text
