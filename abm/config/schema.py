"""The JSON Schema of config files (`abm schema`), from the config model of a set of plugins."""
from __future__ import annotations

import json

from .sections import config_model
from .plugins import build_spec


def json_schema(plugins: tuple[str, ...] = ()) -> str:
    """The JSON Schema of config files, for editors: the built-in cell types plus `plugins` (their
    cells and interventions sections). A file either is complete (a cells section, fields as a
    mapping) or includes a parameter set (include, tissue, fields as a list of names, no cells):
    an if/then tells the two apart, as abm/config/parameters.py's expand_include does."""
    schema = config_model(build_spec(tuple(plugins))).model_json_schema()
    properties = schema["properties"]
    mapping = properties["fields"]
    names = {"type": "array", "items": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
             "description": "with include: the fields the scenario simulates (their properties come from the set)"}
    properties["include"] = {"type": "string", "description": "the parameter set this scenario takes every cell "
                                                              "and field parameter from, relative to this file "
                                                              "(abm:tissue_model.yaml: the shared set shipped with the "
                                                              "package)"}
    properties["fields"] = {"description": mapping.get("description", ""), "anyOf": [mapping, names]}
    schema["required"] = [key for key in schema["required"] if key != "cells"]
    schema["if"] = {"required": ["include"]}
    schema["then"] = {"properties": {"cells": False, "fields": names}, "required": ["tissue"]}
    schema["else"] = {"properties": {"fields": {"type": "object"}}, "required": ["cells"]}
    return json.dumps(schema, indent=2)
