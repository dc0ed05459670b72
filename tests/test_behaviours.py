"""The behaviour dictionary: each built-in type's main behaviours reachable by grammar rules and by
other types' Python rules, on NumPy and on the GPU code path, and grammar rules that therapies
block (`blocked_by`)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from abm import TissueModel
from abm.cli import main
from abm.config.sections import load_config
from abm.errors import ConfigError
from abm.testing import assert_same_state, host_gpu, model_state  # noqa: F401 (host_gpu: a pytest fixture)
from run_helpers import ROOT

GRAMMAR = str(ROOT / "configs" / "grammar_dormancy.yaml")  # liver: tumor cells do not walk (rate 0)
SHORT = {"time.duration_h": 12.0}
WALK = {"cell_type": "tumor", "signal": "neighbours.empty", "direction": "increases", "behaviour": "motility",
        "half_max": 2.0, "hill_n": 1, "saturation": 3.0}
DEATH = {"cell_type": "tumor", "signal": "time_in_state_min", "direction": "increases", "behaviour": "apoptosis",
         "half_max": 120.0, "hill_n": 2, "saturation": 1.0}
DORMANCY = {"cell_type": "tumor", "signal": "ifng", "direction": "increases", "behaviour": "dormancy_entry",
            "half_max": 0.02, "hill_n": 2, "saturation": 0.5}

REQUIRED = {  # issue 20's floor: what each built-in type exposes
    "tumor": {"motility", "apoptosis", "division", "dormancy_entry", "dormancy_exit"},
    "nk": {"kill_probability_per_contact", "motility", "ifng_secretion", "proliferation", "death"},
    "stellate": {"activation", "cxcl12_secretion"},
    "neutrophil": {"cytokine_secretion", "binding"},
}


def test_every_built_in_type_exposes_its_main_behaviours():
    config, _ = load_config(GRAMMAR)
    for type_name, names in REQUIRED.items():
        exposed = {b.name for b in config.spec.types[type_name].behaviours}
        assert names <= exposed, (type_name, names - exposed)


def test_the_behaviour_table_in_the_docs_is_up_to_date():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "behaviour_table.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def tumor_sites(model) -> dict:
    table = model.agents_table()
    tumor = table["cell_type"] == model.spec.type_code["tumor"]
    return dict(zip(table["id"][tumor].tolist(), table["site"][tumor].tolist()))


def test_a_grammar_rule_makes_tumor_cells_walk_where_their_rate_is_zero():
    moved = {}
    for name, rules in (("without", []), ("with", [WALK])):
        model = TissueModel(GRAMMAR, device="cpu", arm="hand_written", overrides={**SHORT, "rules": rules})
        start = tumor_sites(model)
        model.run()
        end = tumor_sites(model)
        moved[name] = sum(end[i] != start[i] for i in end if i in start)
    assert model.config.cells.tumor.motility_rate_per_h == 0
    assert moved["without"] == 0 and moved["with"] >= 5


def test_a_grammar_rule_raises_tumor_apoptosis():
    left = {}
    for name, rules in (("without", []), ("with", [DEATH])):
        model = TissueModel(GRAMMAR, device="cpu", arm="hand_written", overrides={**SHORT, "rules": rules})
        model.run()
        left[name] = model.count("tumor")
    assert left["with"] < left["without"] / 2


def test_tumor_motility_and_apoptosis_rules_on_the_gpu_code_path_equal_numpy(host_gpu):
    runs = {}
    for device in ("cpu", "gpu"):
        model = TissueModel(GRAMMAR, device=device, arm="hand_written", overrides={**SHORT, "rules": [WALK, DEATH]})
        model.run()
        runs[device] = model_state(model)
    assert runs["cpu"][3]["moves"] > 0 and runs["cpu"][3]["deaths"] > 0
    assert_same_state(runs["cpu"], runs["gpu"])


READER = '''
"""A rule of a user's package that reads a behaviour's base and doubles it where a cell touches
an NK cell (the tumor's behaviour `apoptosis`, acted on by tumor.apoptosis)."""
import numpy as np

from abm.engine import cell_rule

SEEN = []


@cell_rule("in tumor cells, touching an NK cell doubles apoptosis", "behaviour_apoptosis")
def nk_stress(behaviour_apoptosis, count_nk, count_nk_exposed):
    SEEN.append(behaviour_apoptosis)  # per cell: anoikis has raised it for isolated cells (run uncompiled)
    if count_nk + count_nk_exposed > 0:
        return np.float32(behaviour_apoptosis * np.float32(2.0))
    return behaviour_apoptosis


def register(spec):
    spec.add_rule("tumor", nk_stress, before="apoptosis")
'''


@pytest.mark.parametrize("config, arm", [(GRAMMAR, "hand_written"), (str(ROOT / "configs" / "lo2020_ctc_clusters.yaml"),
                                                                     None)], ids=["liver", "lung"])
def test_a_python_rule_reads_a_behaviours_base_and_sets_it(tmp_path, monkeypatch, config, arm):
    """Run by the interpreter (the uncompiled reference), so that the rule can record what it read."""
    from abm.engine import targets

    (tmp_path / "nk_stress.py").write_text(textwrap.dedent(READER))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(targets, "target_of", lambda xp: "python")
    model = TissueModel(config, device="cpu", arm=arm, overrides={"plugins": ["nk_stress"]})
    tumor_cells = model.count("tumor")
    import nk_stress

    nk_stress.SEEN.clear()  # the module outlives one test
    model.step()

    params = next(iter(model._params_cache.values()))["tumor"]
    base = np.array(nk_stress.SEEN)
    assert len(base) == tumor_cells and base.dtype == np.float32  # once per cell
    if model.config.cells.tumor.isolated_death_rate_per_h == 0:  # liver: no anoikis, the base itself
        assert set(base.tolist()) == {np.float32(params.death_probability)}
    else:  # lung: anoikis has raised it for isolated cells
        values = {np.float32(params.death_threshold / 2**32), np.float32(params.isolated_death_threshold / 2**32)}
        assert set(np.unique(base).tolist()) == values


# ---------------------------------------------------------------- therapies that block grammar rules


def dormant_at_end(arm, rules, interventions=None) -> int:
    values = {"time.duration_h": 36.0, "rules": rules}
    if interventions:
        values["interventions.cytokine_blockade"] = interventions
    model = TissueModel(GRAMMAR, device="cpu", arm=arm, overrides=values)
    model.run()
    return model.count("tumor", "dormant"), model_state(model)


def test_a_full_blockade_removes_a_grammar_rules_effect_and_a_partial_one_part_of_it():
    blocked = dict(DORMANCY, blocked_by=["cytokine_blockade"])
    unblocked, _ = dormant_at_end("neither", [DORMANCY])
    open_rule, open_state = dormant_at_end("neither", [blocked])
    full, full_state = dormant_at_end("neither", [blocked], {"start_h": 0.0, "efficiency": 1.0})
    _, without_rule = dormant_at_end("neither", [], {"start_h": 0.0, "efficiency": 1.0})
    assert unblocked == open_rule > 0  # naming a therapy changes nothing while it is not in force
    assert_same_state(open_state, dormant_at_end("neither", [DORMANCY])[1])
    assert full == 0
    assert_same_state(full_state, without_rule)  # efficiency 1: as if the rule were not there


def test_blocked_by_names_a_declared_blockade(capsys):
    for name, message in (("galunisertib", "unknown therapy 'galunisertib'"),
                          ("nk_depletion", "therapy 'nk_depletion' is not a blockade")):
        with pytest.raises(ConfigError, match=message) as error:
            load_config(GRAMMAR, {"rules": [dict(DORMANCY, blocked_by=[name])]})
        assert "rules.0.blocked_by.0" in str(error.value) and "\n" not in str(error.value)


def test_abm_rules_shows_the_block(capsys):
    rule = "{cell_type: tumor, signal: ifng, direction: increases, behaviour: dormancy_entry, " \
           "half_max: 0.02, hill_n: 2, saturation: 0.5, blocked_by: [cytokine_blockade]}"
    assert main(["rules", GRAMMAR, "--arm", "neither", "--set", f"rules=[{rule}]"]) == 0
    out = capsys.readouterr().out
    assert "blocked by cytokine_blockade" in out
    assert "behaviour tumor.apoptosis (1/h, base 0.001443)" in out
    assert "cells.nk.exposed_threshold = " in out and "(receptor level)" in out


IDLE_THERAPY = '''
"""A user's package declaring a blockade meant for grammar rules only (no prepare reads it)."""
from dataclasses import dataclass

from abm.configtypes import Strict
from abm.interventions import Blockade
from abm.spec import CellType, Therapy


class CafConfig(Strict):
    pass


@dataclass(frozen=True)
class CafParams:
    config: CafConfig


CAF = CellType(name="caf", states=("resting",), config=CafConfig, prepare=lambda cells, dt, in_force: CafParams(cells.caf),
               therapies=(Therapy("galunisertib", Blockade, "TGF-beta receptor kinase inhibitor"),))


def register(spec):
    spec.add_cell_type(CAF)
'''


def test_a_therapy_nothing_reads_is_warned_about(tmp_path, monkeypatch):
    from abm.config.therapy_check import TherapyWarning

    (tmp_path / "caf_therapy.py").write_text(textwrap.dedent(IDLE_THERAPY))
    monkeypatch.syspath_prepend(str(tmp_path))
    values = {"plugins": ["caf_therapy"], "interventions.galunisertib": {"start_h": 0.0}, "time.duration_h": 1.0}
    with pytest.warns(TherapyWarning, match="interventions.galunisertib: nothing in this model reads this therapy"):
        TissueModel(GRAMMAR, device="cpu", arm="neither", overrides={**values, "rules": [DORMANCY]})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", TherapyWarning)  # named by a grammar rule: it acts
        TissueModel(GRAMMAR, device="cpu", arm="neither",
                    overrides={**values, "rules": [dict(DORMANCY, blocked_by=["galunisertib"])]})
