"""One tissue model, one parameter set: every scenario includes it, every parameter is labelled,
and a value differs between tissues only where the set declares it, with reason and source."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from abm.config.sections import config_model, load_config
from abm.errors import ConfigError
from abm.config.parameters import load_parameter_set
from abm.config.plugins import builtin_spec

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "configs" / "parameters" / "tissue_model.yaml"
# A benchmark (abm bench, against Mesa), not a tissue scenario: it keeps its own minimal biology.
STANDALONE = {"minimal_rules.yaml"}
NOT_SCENARIOS = {"calibration.yaml"}  # abm calibrate's file
SCENARIOS = sorted(p for p in (ROOT / "configs").glob("*.yaml") if p.name not in STANDALONE | NOT_SCENARIOS)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_scenario_includes_the_set_and_sets_no_cell_parameter(path):
    raw = yaml.safe_load(path.read_text())
    assert raw["include"] == "parameters/tissue_model.yaml"
    assert "cells" not in raw and isinstance(raw["fields"], list)
    config, _ = load_config(path, check_sources=False)  # the colony assay's source run is made by validate
    assert config.parameter_set.startswith("tissue_model.yaml sha256:")
    assert config.tissue in load_parameter_set(SET).tissues


def test_the_set_labels_every_parameter_of_every_built_in_cell_type():
    parameter_set = load_parameter_set(SET)
    cells = config_model(builtin_spec()).model_fields["cells"].annotation
    for type_name, section in cells.model_fields.items():
        for key in section.annotation.model_fields:
            assert f"cells.{type_name}.{key}" in parameter_set.parameters, f"cells.{type_name}.{key} is not in the set"
    for p in parameter_set.parameters.values():
        assert p.label in ("measured", "assumed", "calibrated")
        if p.label == "measured":
            assert "doi" in p.note.lower(), p.key
        for tissue in p.tissues.values():
            assert tissue.reason and tissue.source


def test_a_tissue_specific_value_applies_only_in_its_tissue():
    liver, _ = load_config(ROOT / "configs" / "correia2021_liver.yaml")
    gel, _ = load_config(ROOT / "configs" / "chan2020_organoid.yaml")
    death = load_parameter_set(SET).parameters["cells.nk.death_rate_per_h"]
    assert liver.cells.nk.death_rate_per_h == death.tissues["liver"].value
    assert gel.cells.nk.death_rate_per_h == death.value
    assert gel.cells.nk.move_rate_per_h == liver.cells.nk.move_rate_per_h  # not declared: the same everywhere


def _scenario(tmp_path, **changes):
    raw = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    raw["include"] = str(SET)
    raw.update(changes)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("changes, message", [
    ({"cells": {"nk": {"kill_probability_per_contact": 0.5}}}, "cells: a scenario that includes"),
    ({"tissue": "bone"}, "tissue: 'bone' is not a tissue of"),
    ({"fields": ["ifng", "tnf"]}, "fields: 'tnf' is not a field of"),
    ({"fields": {"ifng": {"decay_per_min": 0.1}}}, "fields: with include, list the fields"),
    ({"include": "no/such/set.yaml"}, "include: parameter set 'no/such/set.yaml' not found"),
])
def test_a_scenario_breaking_the_set_is_one_line_naming_its_file(tmp_path, changes, message):
    path = _scenario(tmp_path, **changes)
    with pytest.raises(ConfigError, match=message) as error:
        load_config(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_an_arm_may_change_a_parameter_it_is_the_experiment(tmp_path):
    path = _scenario(tmp_path, arms={"slow": {"cells.nk.move_rate_per_h": 1.0}})
    assert load_config(path, arm="slow")[0].cells.nk.move_rate_per_h == 1.0


@pytest.mark.parametrize("entry, message", [
    ({"value": 1.0}, "needs exactly one label"),
    ({"value": 1.0, "assumed": "x", "measured": "doi:1"}, "needs exactly one label"),
    ({"value": 1.0, "calibrated": {"target": "t"}}, "calibrated needs"),
    ({"value": 1.0, "assumed": "x", "tissues": {"liver": {"value": 2.0, "reason": "r"}}}, "needs value, reason and source"),
    ({"value": 1.0, "assumed": "x", "tissues": {"bone": {"value": 2.0, "reason": "r", "source": "s"}}}, "unknown tissue"),
    (0.5, "expected {value"),
])
def test_an_unlabelled_or_malformed_entry_is_refused(tmp_path, entry, message):
    raw = yaml.safe_load(SET.read_text())
    raw["cells"]["nk"]["move_rate_per_h"] = entry
    path = tmp_path / "set.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=message) as error:
        load_parameter_set(path)
    assert "cells.nk.move_rate_per_h" in str(error.value) and str(path) in str(error.value)


def test_the_set_itself_is_not_a_runnable_scenario():
    with pytest.raises(ConfigError, match="is a parameter set"):
        load_config(SET)


# ---------------------------------------------------------------- the set is checked whole, whichever scenario
INCLUDING = [p for p in SCENARIOS if "include" in yaml.safe_load(p.read_text())]
MUTATIONS = {  # a value no scenario (or only some) uses: each must still fail every scenario that includes the set
    "nan": (("fields", "il15", "production_per_min", "value"), float("nan"),
            "fields.il15.production_per_min.value: nan is not a finite number"),
    "string": (("fields", "neutrophil_cytokine", "diffusion_um2_per_min", "value"), "fast",
               "fields.neutrophil_cytokine.diffusion_um2_per_min.value: Input should be a valid number (got 'fast')"),
    "negative_in_a_tissue": (("cells", "tumor", "motility_rate_per_h", "tissues", "blood", "value"), -1.0,
                             "cells.tumor.motility_rate_per_h.tissues.blood.value: Input should be greater than or "
                             "equal to 0 (got -1.0)"),
    "null_tissue_value": (("cells", "nk", "death_rate_per_h", "tissues", "liver", "value"), None,
                          "cells.nk.death_rate_per_h.tissues.liver.value: Input should be a valid "
                          "number (got None)"),
    "unknown_tissue": (("cells", "nk", "move_rate_per_h", "tissues", "bone"),
                       {"value": 1.0, "reason": "r", "source": "s"},
                       "cells.nk.move_rate_per_h.tissues.bone: unknown tissue"),
}


@pytest.fixture(scope="module")
def mutated_configs(tmp_path_factory):
    """Per mutation, a copy of configs/ whose parameter set has that one change."""
    folders = {}
    for name, (where, value, _) in MUTATIONS.items():
        folder = tmp_path_factory.mktemp(name)
        (folder / "parameters").mkdir()
        for path in INCLUDING:
            (folder / path.name).write_text(path.read_text())
        raw = yaml.safe_load(SET.read_text())
        node = raw
        for part in where[:-1]:
            node = node.setdefault(part, {})
        node[where[-1]] = value
        (folder / "parameters" / "tissue_model.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        folders[name] = folder
    return folders


@pytest.mark.parametrize("path", INCLUDING, ids=[p.stem for p in INCLUDING])
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_a_bad_value_anywhere_in_the_set_fails_every_scenario_in_one_line(mutated_configs, capsys, mutation, path):
    from abm.cli import main

    scenario = mutated_configs[mutation] / path.name
    assert main(["rules", str(scenario)]) == 2  # loads the config (and every arm), runs nothing
    err = capsys.readouterr().err
    set_path = mutated_configs[mutation] / "parameters" / "tissue_model.yaml"
    assert err.startswith(f"abm: error: {set_path}: {MUTATIONS[mutation][2]}") and err.count("\n") == 1, err


def test_the_set_holds_every_parameter_of_every_built_in_type_and_nothing_else(tmp_path):
    for change, message in [(lambda raw: raw["cells"]["nk"].pop("max_kills"), "cells.nk.max_kills: missing"),
                            (lambda raw: raw["cells"]["nk"].update(speed={"value": 1.0, "assumed": "x"}),
                             "cells.nk.speed.value: unknown key (not a parameter of cell type 'nk')"),
                            (lambda raw: raw["cells"].update(macrophage={"a": {"value": 1, "assumed": "x"}}),
                             "cells.macrophage: no such cell type"),
                            (lambda raw: raw["cells"].update(blob={}), "cells.blob: expected a mapping"),
                            (lambda raw: raw["fields"]["ifng"].pop("diffusion_um2_per_min"),
                             "fields.ifng.diffusion_um2_per_min: required key is missing"),
                            (lambda raw: raw["tissues"].update(bone=float("inf")), "tissues.bone: inf is not a finite")]:
        raw = yaml.safe_load(SET.read_text())
        change(raw)
        path = tmp_path / "set.yaml"
        path.write_text(yaml.safe_dump(raw))
        with pytest.raises(ConfigError) as error:
            load_parameter_set(path)
        assert str(error.value).startswith(f"{path}: {message}"), str(error.value)


def test_the_shared_set_ships_with_the_package_and_includes_from_anywhere(tmp_path):
    """`include: abm:tissue_model.yaml` (a plugin's scenario outside this repository) gives the
    same config as the path relative to configs/."""
    scenario = ROOT / "configs" / "default.yaml"
    raw = yaml.safe_load(scenario.read_text())
    raw["include"] = "abm:tissue_model.yaml"
    elsewhere = tmp_path / "default.yaml"
    elsewhere.write_text(yaml.safe_dump(raw))
    shipped, _ = load_config(str(elsewhere))
    here, _ = load_config(str(scenario))
    assert shipped.model_dump() == here.model_dump()
