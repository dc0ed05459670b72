"""Assembling the model spec: the built-in cell types, then the config's plugins.

A plugin is a module with ``register(spec)`` (see docs/extending.md). A config names it in
`plugins:` either by an entry-point name (group ``abm.plugins``, declared in the plugin
package's pyproject.toml) or by its dotted module path. Plugins are loaded only when a config
names them: a run file's config then says everything that shaped its model, and an installed
package never changes the runs of configs that do not ask for it.
"""
from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import entry_points

from .cells import BUILTIN
from .errors import ConfigError
from .spec import ModelSpec

ENTRY_POINT_GROUP = "abm.plugins"


def available() -> dict[str, str]:
    """Entry-point name -> module of the installed plugins."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _module(name: str):
    target = available().get(name, name)
    try:
        module = importlib.import_module(target.split(":")[0])
    except ImportError as error:
        installed = ", ".join(sorted(available())) or "none installed"
        raise ConfigError(f"plugins: cannot import {name!r} ({error}); installed plugins: {installed}") from None
    if not callable(getattr(module, "register", None)):
        raise ConfigError(f"plugins: {name!r} ({module.__name__}) has no register(spec) function")
    return module


@lru_cache(maxsize=32)
def build_spec(plugins: tuple[str, ...] = ()) -> ModelSpec:
    """The spec of the built-in types plus `plugins`, in that order (codes are positions)."""
    spec = ModelSpec(plugins)
    for name in BUILTIN + tuple(plugins):
        module = importlib.import_module(name) if name in BUILTIN else _module(name)
        module.register(spec)
    return spec.freeze()


def builtin_spec() -> ModelSpec:
    return build_spec(())
