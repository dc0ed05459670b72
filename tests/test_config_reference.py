"""docs/config.md is generated from the pydantic schema and must match the generator's output."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "config.md"


def _generator():
    spec = importlib.util.spec_from_file_location("config_reference", ROOT / "scripts" / "config_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _leaf_keys(node, prefix=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaf_keys(value, f"{prefix}{key}.")
    elif isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        for item in node:
            yield from _leaf_keys(item, f"{prefix}N.")
    else:
        yield prefix[:-1]


def test_config_reference_is_up_to_date():
    expected = _generator().render()
    assert DOC.exists(), "docs/config.md is missing; run python scripts/config_reference.py"
    assert DOC.read_text() == expected, "docs/config.md is out of date; run python scripts/config_reference.py"


def test_config_reference_lists_every_key_of_the_default_config():
    text = _generator().render()
    from run_helpers import standalone_raw

    raw = standalone_raw(ROOT / "configs" / "default.yaml")
    for key in _leaf_keys(raw):
        if key.startswith("fields."):  # named entries are documented once, as fields.NAME.KEY
            key = "fields.NAME." + key.split(".", 2)[2]
        assert f"`{key}`" in text, key


def test_config_reference_lists_every_schema_field():
    from pydantic import BaseModel

    from abm.config.sections import config_model
    from abm.config.plugins import builtin_spec

    Config = config_model(builtin_spec())  # the built-in types' sections, therapies included
    text = _generator().render()
    seen = set()

    def walk(model, prefix):
        if model in seen:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            assert f"`{prefix}{name}`" in text, f"{prefix}{name}"
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name}.")
        seen.discard(model)

    walk(Config, "")
