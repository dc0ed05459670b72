"""Mesa `model_params` for a config: sliders for its key parameters, keyed by config overrides.

SolaraViz rebuilds the model on Reset as ``TissueModel(**params)``; TissueModel reads dotted
keyword arguments as config overrides, so a slider keyed ``cells.nk.kill_probability_per_contact``
needs no adapter. Which parameters: for each cell type the config places, a few curated ones
(KEY_PARAMETERS), else its first numeric ones; each placement's cell count or density; the seed.
Bounds come from the config schema (a probability stops at 1) and from the lattice (the
placements still fit when every placement slider is at its top).
"""
from __future__ import annotations

import math
from typing import Any

from ..config.sections import Config
from .mesa_viz import Slider

# The parameters most worth a slider per built-in type, in order; a type not listed (a plugin's)
# gets its first numeric parameters.
KEY_PARAMETERS = {
    "tumor": ("division_rate_per_h", "death_rate_per_h", "dormancy_entry_rate_per_h"),
    "nk": ("kill_probability_per_contact", "move_rate_per_h", "max_kills"),
    "neutrophil": ("binding_probability_per_contact", "move_rate_per_h"),
    "tcell": ("binding_probability_per_contact", "nk_suppression"),
    "stellate": ("activation_rate_per_h",),
}
PER_TYPE = 3
SLIDER_STEPS = 100  # a float slider moves in 1/100 of its range
# Units of a config key, read from its name (the config's convention: rates end in _per_h, ...);
# the first suffix that matches wins. Keys without one are counts or fractions (probabilities).
UNIT_SUFFIXES = (("_per_mm3", "cells/mm³"), ("_per_h", "1/h"), ("_per_min", "1/min"), ("_min", "min"),
                 ("_h", "h"), ("_um", "µm"))
NAMED_UNITS = {"max_kills": "kills", "count": "cells"}


def label_of(key: str, prefix: str = "") -> str:
    """A slider's label: the key in words, its units in brackets ('nk move rate (1/h)')."""
    name, unit = key, NAMED_UNITS.get(key, "")
    for suffix, text in UNIT_SUFFIXES:
        if key.endswith(suffix):
            name, unit = key[: -len(suffix)], text
            break
    words = f"{prefix} {name.replace('_', ' ')}".strip()
    return f"{words} ({unit})" if unit else words


def model_params(config: Config, path: str, device: str | None = None) -> dict[str, Any]:
    """Fixed `config` (the file) and `device`, then seed, cell-parameter and placement sliders."""
    params: dict[str, Any] = {"config": str(path)}
    if device is not None:
        params["device"] = device
    params["seed"] = Slider("seed", value=config.seed, min=0, max=max(999, config.seed), step=1, dtype=int)
    for cell_type in placed_types(config):
        section = getattr(config.cells, cell_type)
        for key in slider_keys(cell_type, section):
            params[f"cells.{cell_type}.{key}"] = parameter_slider(label_of(key, cell_type), section, key)
    params.update(placement_sliders(config))
    return params


def config_value(config: Config, key: str):
    """The value a dotted override key names in a validated config (list items by index)."""
    node = config
    for part in key.split("."):
        node = node[int(part)] if part.isdigit() and isinstance(node, list) else getattr(node, part)
    return node


def placed_types(config: Config) -> list[str]:
    """Cell types the config places (escorts too), in the model's type order."""
    named = set()
    for p in config.placement:
        if p.cells(config.lattice) > 0 and getattr(p, "cell_type", None):
            named.add(p.cell_type)
        if getattr(p, "escort_type", None) and getattr(p, "escorts_per_cluster", 0):
            named.add(p.escort_type)
    return [name for name in config.spec.type_names if name in named]


def slider_keys(cell_type: str, section) -> list[str]:
    """The curated keys of this type that its section has, else its first numeric keys."""
    numeric = [key for key, value in section if _is_number(value)]
    curated = [key for key in KEY_PARAMETERS.get(cell_type, ()) if key in numeric]
    return (curated or numeric)[:PER_TYPE]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parameter_slider(label: str, section, key: str) -> Slider:
    """From 0 (or the schema's minimum) to the schema's maximum, else to twice the value."""
    value = getattr(section, key)
    low, high = _bounds(type(section).model_fields[key].metadata)
    if high is None:
        high = 2 * value if value > 0 else (10 if isinstance(value, int) else 1.0)
    return _slider(label, value, low, high)


def _bounds(metadata) -> tuple[float, float | None]:
    low, high = 0, None
    for item in metadata:
        low = getattr(item, "ge", None) if getattr(item, "ge", None) is not None else low
        high = getattr(item, "le", None) if getattr(item, "le", None) is not None else high
    return low, high


def _slider(label: str, value, low, high) -> Slider:
    if isinstance(value, int):
        return Slider(label, value=value, min=int(low), max=max(int(high), value), step=1, dtype=int)
    high = max(float(high), value)
    step = float(f"{(high - low) / SLIDER_STEPS:.1g}") or 1e-6  # one significant digit: a readable value
    return Slider(label, value=float(value), min=float(low), max=high, step=step, dtype=float)


def placement_sliders(config: Config) -> dict[str, Slider]:
    """Each placement's count (or density_per_mm3), up to twice its value, as long as every
    placement at its top still fits on the lattice (the config refuses more cells than sites)."""
    n_sites = math.prod(config.lattice.shape)
    wanted = sum(p.cells(config.lattice) for p in config.placement)
    room = min(2.0, 0.9 * n_sites / wanted) if wanted else 2.0
    sliders = {}
    for i, p in enumerate(config.placement):
        key = "count" if getattr(p, "count", None) is not None else "density_per_mm3"
        value = getattr(p, key, None)
        if value is None or not hasattr(p, "cell_type"):
            continue  # from_run placements copy a run's cells: nothing to count
        top = value * room if value else (n_sites // 100 if key == "count" else 1000.0)
        label = label_of(key, f"placement {i}: {p.cell_type}")
        sliders[f"placement.{i}.{key}"] = _slider(label, value, 0, int(top) if key == "count" else top)
    return sliders
