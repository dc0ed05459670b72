"""The open framework: a spec assembled per config, plugins from the user's own module, every
rule named, listed and switchable."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest
import yaml

from abm import TissueModel
from abm.config.sections import load_config
from abm.errors import ConfigError
from abm.config.plugins import build_spec, builtin_spec
from abm.spec import CellType, Column, hashed_purpose
from run_helpers import ROOT

MINIMAL = str(ROOT / "configs" / "minimal_rules.yaml")
CONFIGS = sorted(p for p in (ROOT / "configs").glob("*.yaml") if p.name != "calibration.yaml")  # not a scenario

EXTRA_RULE = '''
"""A user's module adding one rule to tumor cells: touching an NK cell drives dormancy entry
(the tumor type's behaviour `dormancy_entry`, acted on by its rule `dormancy`)."""
import numpy as np

from abm.engine import cell_rule


@cell_rule("in tumor cells, touching an NK cell drives dormancy entry", "behaviour_dormancy_entry")
def nk_contact_arrest(behaviour_dormancy_entry, count_nk, count_nk_exposed):
    return np.float32(0.5) if count_nk + count_nk_exposed > 0 else behaviour_dormancy_entry


def register(spec):
    spec.add_rule("tumor", nk_contact_arrest, before="dormancy")
'''


@pytest.fixture
def extra_rule_plugin(tmp_path, monkeypatch):
    (tmp_path / "tumor_extra_rule.py").write_text(textwrap.dedent(EXTRA_RULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "tumor_extra_rule"


def test_a_plugin_rule_on_tumor_cells_runs_with_the_minimal_rules(extra_rule_plugin):
    extended, _ = load_config(MINIMAL, {"plugins": [extra_rule_plugin], "lattice.shape": [40, 40],
                                        "time.duration_h": 3.0})
    model = TissueModel(extended, device="cpu")
    model.run()
    assert model.count("tumor", "dormant") > 0  # the step ran the plugin's rule


def test_the_built_in_spec_is_not_changed_by_a_plugin(extra_rule_plugin):
    before = list(builtin_spec().rules)
    extended = build_spec((extra_rule_plugin,))
    assert "tumor.nk_contact_arrest" in extended.rules and list(builtin_spec().rules) == before
    assert "nk_contact_arrest" not in [r.name for r in builtin_spec().types["tumor"].rules]
    assert extended.type_code == builtin_spec().type_code and extended.purposes == builtin_spec().purposes


def test_purposes_are_stable_keys_from_names():
    spec = builtin_spec()
    assert spec.purposes["tumor.division"] == 2 and spec.purposes["nk.kill"] == 5  # kept from before the spec
    # Pinned: a plugin's draws must not change between versions of the framework.
    assert hashed_purpose("macrophage", "kill") == 2203214785
    assert hashed_purpose("macrophage", "move") == 3947168464


def test_declaration_errors_are_one_line():
    from abm.spec import ModelSpec

    spec = ModelSpec()
    t = builtin_spec().types["stellate"]
    spec.add_cell_type(t)
    with pytest.raises(ConfigError, match="declared twice"):
        spec.add_cell_type(t)
    clash = CellType(name="other", states=("a",), config=t.config, prepare=t.prepare,
                     columns=(Column("partner", np.float32),))
    spec.add_cell_type(clash)
    with pytest.raises(ConfigError, match="column 'partner'"):
        spec.freeze()


def test_an_unknown_plugin_is_a_one_line_error():
    with pytest.raises(ConfigError, match=r"plugins: cannot import 'no_such_plugin'"):
        load_config(MINIMAL, {"plugins": ["no_such_plugin"]})


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_abm_rules_lists_every_rule_of_the_types_present(path, capsys):
    from abm.cli import main
    from abm.config.describe import types_present

    assert main(["rules", str(path)]) == 0
    out = capsys.readouterr().out
    config, _ = load_config(str(path), check_sources=False)  # a protocol's later step: its source is made first
    for type_name in types_present(config):
        for rule in config.spec.types[type_name].rules:
            assert f"{type_name}.{rule.name}  [" in out
            for key in rule.reads:
                assert f"cells.{key} = " in out


def test_every_config_key_of_a_type_is_read_by_some_rule_or_by_placement():
    """`reads` is what `abm rules` shows: a key a rule reads but does not list would be invisible."""
    spec = builtin_spec()
    listed = {key for _, rule in spec.rules.values() for key in rule.reads}
    placement_only = {"tumor.ki67_window_h", "tumor.vcam1_positive",
                      "tumor.plxnb2_positive", "nk.initial_inhibitory_receptors"}
    for name, t in spec.types.items():
        for key in t.config.model_fields:
            full = f"{name}.{key}"
            assert full in listed or full in placement_only or key == "inflammation_level" and full in listed, full


def test_ablating_a_rule_switches_it_off_and_is_recorded(tmp_path):
    from abm.runner import run_to_file

    values = {"lattice.shape": [40, 40], "time.duration_h": 4.0, "output.checkpoint_every_steps": 0}
    on = run_to_file(MINIMAL, overrides=values, out=tmp_path / "on.h5", progress=False, log=lambda m: None)
    off = run_to_file(MINIMAL, overrides=values, out=tmp_path / "off.h5", progress=False, log=lambda m: None,
                      ablate=["nk.contact_kill"])
    with h5py.File(on, "r") as a, h5py.File(off, "r") as b:
        assert json.loads(a.attrs["ablated"]) == [] and json.loads(b.attrs["ablated"]) == ["nk.contact_kill"]
        assert a["timeseries/kills"][()].sum() > 0 and b["timeseries/kills"][()].sum() == 0
        assert b["timeseries/contacts_single"][()].sum() == 0


def test_an_unknown_rule_name_is_a_one_line_error_naming_the_known_ones():
    done = subprocess.run([sys.executable, "-m", "abm", "run", MINIMAL, "--ablate", "nk.contact_kil",
                           "--out", "/nonexistent/x.h5"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ablate.0: unknown rule 'nk.contact_kil'" in lines[0] and "nk.contact_kill" in lines[0]


def test_ablate_from_the_config_and_from_arms(tmp_path):
    raw = yaml.safe_load(open(MINIMAL))
    raw["ablate"] = ["tumor.division"]
    config, _ = load_config(raw, ablate=["nk.patrol"])
    assert config.ablate == ["tumor.division", "nk.patrol"]
    model = TissueModel(config, device="cpu", overrides={"lattice.shape": [30, 30], "time.duration_h": 2.0})
    model.run()
    assert model.totals["births"] == 0 and model.totals["moves"] == 0


NO_CATEGORY_TYPE = '''
"""A user's type that declares no neighbour category, placed among dividing tumor cells."""
from pydantic import Field

from abm.configtypes import Strict
from abm.spec import CellType


class Config(Strict):
    unused_rate_per_h: float = Field(0.0)


def register(spec):
    spec.add_cell_type(CellType(name="blob", states=("only",), config=Config, prepare=lambda c, dt, f: None))
'''


def test_a_type_without_categories_is_seen_as_itself(tmp_path, monkeypatch):
    """Neighbours see its cells (a default category named after the type), never an empty site."""
    (tmp_path / "blob_type.py").write_text(NO_CATEGORY_TYPE)
    monkeypatch.syspath_prepend(str(tmp_path))
    model = TissueModel(MINIMAL, device="cpu", overrides={
        "plugins": ["blob_type"], "lattice.shape": [30, 30], "time.duration_h": 6.0, "debug.check_invariants": True,
        "placement": [{"pattern": "scatter", "cell_type": "tumor", "count": 200},
                      {"pattern": "scatter", "cell_type": "blob", "count": 300}]})
    assert "blob" in model.spec.category
    model.run()  # the invariants hold every step: no cell divides onto a blob
    assert model.count("blob") == 300


UNDECLARED_TALLY = '''
from abm.engine import cell_rule


@cell_rule("tallies an event no cell type declares", "tally_no_such_event")
def undeclared_tally(state):
    return 1


def register(spec):
    spec.add_rule("tumor", undeclared_tally)
'''


def test_a_tally_no_type_declares_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "undeclared_tally.py").write_text(UNDECLARED_TALLY)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="no_such_event"):
        TissueModel(MINIMAL, device="cpu", overrides={"lattice.shape": [20, 20], "plugins": ["undeclared_tally"]})


def test_a_missing_plugin_section_hints_at_the_plugin():
    with pytest.raises(ConfigError, match="is its plugin missing from plugins:"):
        load_config(MINIMAL, {"cells.macrophage": {"move_rate_per_h": 1.0}})
