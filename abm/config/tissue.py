"""Settings that shape outcomes, declared once per tissue (configs/parameters/tissue_settings.yaml):
immune cell densities, NK cells per organoid, durations, lesion and outgrowth sizes. A study scenario
of a tissue must use them in every arm, so no scenario tunes its own outcome with a value its tissue
does not declare."""
from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import ConfigError

SETTINGS = Path(__file__).resolve().parents[2] / "configs" / "parameters" / "tissue_settings.yaml"
LABELS = ("measured", "assumed")


def load_settings(path: Path = SETTINGS) -> dict[str, dict[str, float]]:
    """{tissue: {setting: value}}, each setting checked to carry exactly one label."""
    raw = yaml.safe_load(Path(path).read_text()) or {}
    settings: dict = {}
    for tissue, entries in raw.items():
        for name, entry in (entries or {}).items():
            labels = [label for label in LABELS if label in (entry or {})]
            if not isinstance(entry, dict) or "value" not in entry or len(labels) != 1 or set(entry) != {"value", *labels}:
                raise ConfigError(f"{path}: {tissue}.{name}: needs a value and one label ({' or '.join(LABELS)})")
            settings.setdefault(tissue, {})[name] = entry["value"]
    return settings


def scenario_settings(config) -> dict[str, float | None]:
    """The values of the declared settings a resolved scenario uses."""
    densities = {entry.cell_type: entry.density_per_mm3 for entry in config.placement
                 if getattr(entry, "density_per_mm3", None) is not None}
    nk_counts = [entry.count for entry in config.placement  # NK cells placed by number (Chan's co-culture)
                 if entry.cell_type == "nk" and getattr(entry, "count", None) is not None]
    return {"nk_density_per_mm3": densities.get("nk"), "stellate_density_per_mm3": densities.get("stellate"),
            "nk_per_organoid": sum(nk_counts) if nk_counts else None,
            "duration_h": config.time.duration_h, "lesion_min_cells": config.validation.lesion_min_cells,
            "outgrowth_cells": config.validation.outgrowth_cells}


def differences(config, settings: dict, where: str) -> list[str]:
    """One line per declared setting of the scenario's tissue that the scenario does not use."""
    declared = settings.get(config.tissue or "", {})
    used = scenario_settings(config)
    return [f"{where}: {name} is {used.get(name)}, but tissue {config.tissue} declares {value} "
            f"({SETTINGS.name})" for name, value in declared.items() if used.get(name) != value]


def check_study(path, arms, load) -> None:
    """Refuse a study scenario (any arm) that departs from its tissue's declared settings."""
    settings = load_settings()
    for arm in [None, *arms]:
        config = load(path, arm)
        found = differences(config, settings, f"{path}" + (f" (arm {arm})" if arm else ""))
        if found:
            raise ConfigError(found[0])
