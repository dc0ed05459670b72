"""A plugin's parameters in the shared format: the plugin ships a labelled set in its package
(PARAMETER_SET), a scenario that includes the shared set and names the plugin gets its values,
the set is checked whole like the shared one, and the run file records it. Loads configs only."""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from abm.cli import main
from abm.config.sections import load_config
from abm.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "configs" / "parameters" / "tissue_model.yaml"
NAMES = itertools.count()

PLUGIN = '''
from pydantic import Field

from abm.configtypes import NonNegative, Strict
from abm.spec import CellType, FieldUse


class GlowConfig(Strict):
    glow_rate_per_h: NonNegative = Field(0.0, description="a rate")


def register(spec):
    spec.add_cell_type(CellType(name="glower", states=("only",), config=GlowConfig, prepare=lambda c, dt, f: None,
                                fields=(FieldUse("glow", "what glowers give off"),)))
'''
PLUGIN_SET = {
    "tissues": {"liver": "as the shared set's"},
    "cells": {"glower": {"glow_rate_per_h": {"value": 0.5, "assumed": "why this order", "tissues": {
        "liver": {"value": 0.1, "reason": "less in the liver", "source": "a source"}}}}},
    "fields": {"glow": {"diffusion_um2_per_min": {"value": 100.0, "assumed": "a small molecule"}, "units": "a.u."}},
}


def plugin(tmp_path, monkeypatch, parameter_set=PLUGIN_SET, declare=True) -> str:
    """A plugin package in tmp_path, with its set as package data; a fresh name each time (specs and
    modules are cached by name)."""
    name = f"glow_plugin_{next(NAMES)}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN) + ('\nPARAMETER_SET = "parameters.yaml"\n'
                                                                      if declare else ""))
    (package / "parameters.yaml").write_text(yaml.safe_dump(parameter_set, sort_keys=False))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def scenario(tmp_path, name, **changes) -> Path:
    raw = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    raw.update({"include": str(SET), "plugins": [name], "fields": ["ifng", "glow"], **changes})
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_an_including_scenario_that_names_the_plugin_gets_its_values_in_its_tissue(tmp_path, monkeypatch):
    name = plugin(tmp_path, monkeypatch)
    gel, _ = load_config(scenario(tmp_path, name))
    assert gel.cells.glower.glow_rate_per_h == 0.5 and gel.fields["glow"].diffusion_um2_per_min == 100.0
    assert gel.fields["glow"].units == "a.u." and gel.cells.nk.kill_probability_per_contact == 0.5  # the shared set's
    liver, _ = load_config(scenario(tmp_path, name, tissue="liver"))
    assert liver.cells.glower.glow_rate_per_h == 0.1
    assert gel.plugin_parameter_sets[name].startswith("parameters.yaml sha256:")
    assert gel.parameter_set.startswith("tissue_model.yaml sha256:")
    # Arms remain the experiment: they may change the plugin's values too.
    armed = scenario(tmp_path, name, arms={"bright": {"cells.glower.glow_rate_per_h": 2.0}})
    assert load_config(armed, arm="bright")[0].cells.glower.glow_rate_per_h == 2.0


def test_an_including_scenario_still_sets_no_cell_parameter_of_a_plugin(tmp_path, monkeypatch):
    path = scenario(tmp_path, plugin(tmp_path, monkeypatch), cells={"glower": {"glow_rate_per_h": 1.0}})
    with pytest.raises(ConfigError, match="cells: a scenario that includes"):
        load_config(path)


def _with(change):
    raw = yaml.safe_load(yaml.safe_dump(PLUGIN_SET))
    change(raw)
    return raw


@pytest.mark.parametrize("parameter_set, message", [
    (_with(lambda r: r["cells"]["glower"]["glow_rate_per_h"].update(value=float("nan"))),
     "cells.glower.glow_rate_per_h.value: nan is not a finite number"),
    (_with(lambda r: r["cells"]["glower"]["glow_rate_per_h"]["tissues"]["liver"].update(value=-1.0)),
     "cells.glower.glow_rate_per_h.tissues.liver.value: Input should be greater than or equal to 0 (got -1.0)"),
    (_with(lambda r: r["fields"]["glow"]["diffusion_um2_per_min"].update(value="fast")),
     "fields.glow.diffusion_um2_per_min.value: Input should be a valid number (got 'fast')"),
    (_with(lambda r: r["cells"]["glower"]["glow_rate_per_h"]["tissues"].update(
        bone={"value": 1.0, "reason": "r", "source": "s"})), "cells.glower.glow_rate_per_h.tissues.bone: unknown tissue"),
    (_with(lambda r: r["tissues"].update(bone="a tissue of no shared set")), "tissues.bone: not a tissue of"),
    (_with(lambda r: r["fields"].update(ifng={"diffusion_um2_per_min": {"value": 1.0, "assumed": "x"}})),
     "fields.ifng: already in tissue_model.yaml"),
    (_with(lambda r: r["cells"].update(nk={"move_rate_per_h": {"value": 1.0, "assumed": "x"}})),
     "cells.nk: a cell type this set does not hold"),
    (_with(lambda r: r["cells"].pop("glower")), "cells.glower.glow_rate_per_h: missing"),
    (_with(lambda r: r["cells"]["glower"]["glow_rate_per_h"].pop("assumed")), "needs exactly one label"),
])
def test_the_plugins_set_is_checked_whole_naming_its_file(tmp_path, monkeypatch, capsys, parameter_set, message):
    name = plugin(tmp_path, monkeypatch, parameter_set)
    assert main(["rules", str(scenario(tmp_path, name))]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"abm: error: {tmp_path / name / 'parameters.yaml'}: ") and err.count("\n") == 1, err
    assert message in err, err


def test_a_plugin_that_adds_a_type_but_ships_no_set_cannot_serve_an_including_scenario(tmp_path, monkeypatch):
    name = plugin(tmp_path, monkeypatch, declare=False)
    path = scenario(tmp_path, name, fields=["ifng"])
    with pytest.raises(ConfigError, match=f"plugins: '{name}' adds cell type 'glower' but ships no parameter set"):
        load_config(path)
    other = plugin(tmp_path, monkeypatch)
    (tmp_path / other / "parameters.yaml").unlink()
    with pytest.raises(ConfigError, match="its parameter set 'parameters.yaml' is not in its package"):
        load_config(scenario(tmp_path, other))


def test_schema_has_the_sections_of_the_plugins_a_config_names(tmp_path, monkeypatch):
    jsonschema = pytest.importorskip("jsonschema")
    name = plugin(tmp_path, monkeypatch)
    path = scenario(tmp_path, name)
    done = subprocess.run([sys.executable, "-m", "abm", "schema", str(path)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert "glower" in schema["$defs"]["CellsConfig"]["properties"]
    jsonschema.validate(yaml.safe_load(path.read_text()), schema)  # the scenario form: include, fields as a list
    complete = yaml.safe_load((ROOT / "configs" / "minimal_rules.yaml").read_text())
    jsonschema.validate({**complete, "plugins": [name], "cells": {**complete["cells"], "glower": {}}}, schema)
    with pytest.raises(jsonschema.ValidationError):  # an including scenario has no cells section
        jsonschema.validate({**yaml.safe_load(path.read_text()), "cells": {}}, schema)
    with pytest.raises(jsonschema.ValidationError):  # nor a complete config a fields list
        jsonschema.validate({**complete, "fields": ["ifng"]}, schema)


@pytest.mark.parametrize("path", sorted(p for p in (ROOT / "configs").glob("*.yaml") if p.name != "calibration.yaml"),
                         ids=lambda p: p.stem)
def test_every_scenario_in_configs_matches_the_schema(path):
    jsonschema = pytest.importorskip("jsonschema")
    from abm.config.schema import json_schema

    jsonschema.validate(yaml.safe_load(path.read_text()), json.loads(json_schema()))


def test_a_plugin_with_values_added_by_an_arm_or_set_is_refused(capsys):
    """Its set would not join (the include is expanded from the file as written): not silent defaults."""
    pytest.importorskip("abm_macrophage")
    assert main(["rules", str(ROOT / "configs" / "default.yaml"), "--set", "plugins=[macrophage]"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "plugins: 'macrophage' is added by an arm or --set" in err
