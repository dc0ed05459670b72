"""Assembling the model spec: the built-in cell types, then the config's plugins.

A plugin is a module with ``register(spec)`` (see docs/extending.md). A config names it in
`plugins:` either by an entry-point name (group ``abm.plugins``, declared in the plugin
package's pyproject.toml) or by its dotted module path. Plugins are loaded only when a config
names them: a run file's config then says everything that shaped its model, and an installed
package never changes the runs of configs that do not ask for it.

A plugin's labelled parameter values ship with it, as a parameter set in the format of
configs/parameters/tissue_model.yaml: its module names a file inside its package,
``PARAMETER_SET = "parameters.yaml"``, read with importlib.resources (so it is found wherever
the package is installed, and travels with the plugin's version). A scenario that includes the
shared set and names the plugin gets those values (abm/config/parameters.py).
"""
from __future__ import annotations

import importlib
import importlib.resources
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path

from ..cells import BUILTIN
from ..errors import ConfigError
from ..spec import ModelSpec

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


def types_by_plugin(plugins: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Plugin name -> the cell types it adds (the specs of growing prefixes of `plugins`, so a
    plugin that builds on an earlier one is assembled as in the full spec)."""
    added, before = {}, tuple(builtin_spec().types)
    for i, name in enumerate(plugins):
        types = tuple(build_spec(tuple(plugins[:i + 1])).types)
        added[name] = tuple(t for t in types if t not in before)
        before = types
    return added


def parameter_set_file(name: str):
    """The parameter set a plugin ships (a Traversable), or None when its module declares none."""
    module = _module(name)
    resource = getattr(module, "PARAMETER_SET", None)
    if resource is None:
        return None
    if not isinstance(resource, str) or not resource.strip():
        raise ConfigError(f"plugins: {name!r}: PARAMETER_SET must name a file inside its package, got {resource!r}")
    found = _package_files(module).joinpath(resource)
    if not found.is_file():
        raise ConfigError(f"plugins: {name!r}: its parameter set {resource!r} is not in its package (looked for "
                          f"{found}; is it listed in the package data?)")
    return found


def _package_files(module):
    if getattr(module, "__path__", None) is not None:  # a package: its own folder, wherever installed
        return importlib.resources.files(module)
    if module.__spec__ is not None and module.__spec__.parent:  # a module inside a package
        return importlib.resources.files(module.__spec__.parent)
    return Path(module.__file__).parent  # a top-level module file (files() takes packages only before 3.12)


def no_plugin_values_from_overrides(raw: dict, named: list, label: str) -> None:
    """A scenario that includes a parameter set joins the sets of the plugins its file names; a
    plugin that an arm or --set adds would get no values from its set (its section's defaults
    instead, silently): refused, unless it needs none (it adds rules only, or types without keys)."""
    plugins = raw.get("plugins")
    if not isinstance(plugins, list) or not all(isinstance(name, str) for name in plugins):
        return  # malformed: validate() reports it
    later = [name for name in plugins if name not in named]
    if not later:
        return
    try:
        spec, added = build_spec(tuple(plugins)), types_by_plugin(tuple(plugins))
    except ConfigError:
        return  # validate() names the plugin that cannot be loaded
    for name in later:
        needs_values = any(spec.types[t].config.model_fields for t in added[name])
        if needs_values or parameter_set_file(name) is not None:
            raise ConfigError(f"{label}: plugins: {name!r} is added by an arm or --set, but a scenario that "
                              f"includes a parameter set takes a plugin's values from its set only when the scenario "
                              f"file names it: list it under the file's plugins")
