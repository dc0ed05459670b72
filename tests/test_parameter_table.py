"""seeds/parameters.md holds a table generated from the scenario configs; it must be up to date."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from abm.config.sections import load_raw

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "seeds" / "parameters.md"


def _generator():
    spec = importlib.util.spec_from_file_location("parameter_table", ROOT / "scripts" / "parameter_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _leaves(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, prefix + tuple(str(key).split(".")))
    elif isinstance(node, list) and any(isinstance(item, dict) for item in node):
        for index, item in enumerate(node):
            yield from _leaves(item, prefix + (str(index),))
    else:
        yield prefix


def _biological_keys(raw: dict) -> set[str]:
    """Every parameter key a scenario config sets, in its body or in an arm (not run settings)."""
    body = {key: value for key, value in raw.items() if key != "arms"}
    paths = list(_leaves(body))
    for overrides in (raw.get("arms") or {}).values():
        paths += list(_leaves(overrides or {}))
    keys = set()
    for path in paths:
        if path[0] in {"cells", "fields", "interventions"} and len(path) > 1:
            keys.add(".".join(path))
        elif path in {("lattice", "dx_um"), ("time", "dt_min"), ("time", "duration_h")}:
            keys.add(".".join(path))
        elif path[0] == "placement" and path[-1] not in {"pattern", "cell_type", "escort_type"}:
            keys.add(".".join(path))
    return keys


def _generated_part(text: str, gen) -> str:
    start, end = text.index(gen.BEGIN), text.index(gen.END)
    return text[start:end]


def test_parameters_md_is_up_to_date():
    gen = _generator()
    assert DOC.exists(), "seeds/parameters.md is missing"
    assert gen.is_up_to_date(), "seeds/parameters.md is out of date; run python scripts/parameter_table.py"


def test_every_config_key_is_in_the_table():
    gen = _generator()
    table = _generated_part(DOC.read_text(), gen)
    assert len(gen.SCENARIOS) == 6
    for rel in gen.SCENARIOS:
        raw, _ = load_raw(ROOT / rel)
        keys = _biological_keys(raw)
        assert keys, rel
        for key in sorted(keys):
            assert f"| `{key}` |" in table, f"{rel}: {key} missing from seeds/parameters.md"


def test_literature_notes_name_existing_keys():
    gen = _generator()
    text = DOC.read_text()
    notes = text[text.index(gen.END):]
    table_keys = set(gen.table_keys())
    named = set(re.findall(r"`((?:cells|fields|interventions|placement|lattice|time)\.[A-Za-z0-9_.]+)`", notes))
    assert named, "no config keys found in the literature notes"
    missing = sorted(named - table_keys)
    assert not missing, f"literature notes name keys no scenario config sets: {missing}"


def test_units_follow_key_suffixes():
    gen = _generator()
    assert gen.unit_of("cells.tumor.death_rate_per_h", [0.1], []) == "1/h"
    assert gen.unit_of("fields.ifng.diffusion_um2_per_min", [1.0], []) == "um^2/min"
    assert gen.unit_of("fields.ifng.decay_per_min", [1.0], []) == "1/min"
    assert gen.unit_of("cells.nk.conjugation_time_min", [1.0], []) == "min"
    assert gen.unit_of("placement.0.min_spacing_um", [1.0], []) == "um"
    assert gen.unit_of("interventions.il15.start_h", [1.0], []) == "h"
    assert gen.unit_of("cells.nk.kill_probability_per_contact", [0.3], []).startswith("dimensionless")


def test_source_is_the_end_of_line_comment():
    gen = _generator()
    assert gen._eol_comment("  dx_um: 15.0   # one epithelial cell") == "one epithelial cell"
    assert gen._eol_comment("  units: 'a#b'") == ""
    assert gen._eol_comment("  name: x#y  # note") == "note"
