"""The rule grammar: grammar rules reproduce the hand-written IFN-gamma dormancy bit for bit (on
the GPU code path too: tests/test_gpu_path_on_host.py); bad grammar rules are one-line errors."""
from __future__ import annotations

import numpy as np
import pytest

from abm import TissueModel
from abm.config.sections import load_config
from abm.errors import ConfigError
from run_helpers import ROOT, assert_same_state, model_state

CONFIG = str(ROOT / "configs" / "grammar_dormancy.yaml")


def _run(arm, device="cpu", **overrides):
    model = TissueModel(CONFIG, device=device, arm=arm, overrides=overrides)
    model.run()
    return model


def test_grammar_rules_reproduce_the_hand_written_dormancy_bit_for_bit():
    hand, grammar, neither = (_run(arm) for arm in ("hand_written", "grammar", "neither"))
    assert "tumor.ifng_dormancy" in grammar.schedule.ablated and len(grammar.config.rules) == 2
    assert_same_state(model_state(hand), model_state(grammar))
    dormant = [m.datacollector.get_model_vars_dataframe()["tumor.dormant"].max() for m in (hand, neither)]
    assert dormant[0] > 0 and dormant[1] == 0  # the response is real, and switching it off shows


def test_one_rule_alone_modulates_only_its_behaviour():
    """Only the entry rule: cells enter dormancy; exit keeps the behaviour's base (0.05/h)."""
    model = TissueModel(CONFIG, device="cpu", arm="neither", overrides={"rules": [
        {"cell_type": "tumor", "signal": "ifng", "direction": "increases", "behaviour": "dormancy_entry",
         "half_max": 0.02, "hill_n": 2, "saturation": 0.5}]})
    model.run()
    assert model.datacollector.get_model_vars_dataframe()["tumor.dormant"].max() > 0


@pytest.mark.parametrize("rule, message", [
    ({"cell_type": "tumour"}, "rules.0.cell_type: unknown cell type 'tumour'"),
    ({"behaviour": "sleep"}, "rules.0.behaviour: cell type tumor has no behaviour 'sleep'"),
    ({"signal": "tnf"}, "rules.0.signal: unknown signal 'tnf'"),
    ({"signal": "neighbours.tumour"}, "rules.0.signal: unknown signal 'neighbours.tumour'"),
    ({"direction": "raises"}, "rules.0.direction"),
    ({"half_max": -1.0}, "rules.0.half_max"),
    ({"hill_n": 1.5}, "rules.0.hill_n"),
])
def test_bad_grammar_rules_are_one_line_errors(rule, message):
    good = {"cell_type": "tumor", "signal": "ifng", "direction": "increases", "behaviour": "dormancy_entry",
            "half_max": 0.02, "hill_n": 2, "saturation": 0.5}
    with pytest.raises(ConfigError) as error:
        load_config(CONFIG, {"rules": [{**good, **rule}]})
    assert message in str(error.value) and "\n" not in str(error.value)


def test_signals_of_every_kind_evaluate():
    """Neighbour counts, contact with a type and time in state as signals: runs change, no error."""
    base = _run("neither", **{"time.duration_h": 10.0})
    births = []
    for signal in ("neighbours.empty", "contact.nk", "time_in_state_min", "neighbours.nk"):
        model = _run("neither", **{"time.duration_h": 10.0, "rules": [
            {"cell_type": "tumor", "signal": signal, "direction": "decreases", "behaviour": "division",
             "half_max": 1.0, "hill_n": 1, "saturation": 0.0}]})
        assert model.totals["births"] <= base.totals["births"], signal
        births.append(model.totals["births"])
    assert min(births) < base.totals["births"] and np.isfinite(base.totals["births"])


def test_nk_behaviours_respond_to_grammar_rules():
    """Kill probability per contact, motility and IFN-gamma secretion of NK cells, each driven
    down to 0 by a signal every NK cell senses far above its half-max (uniform IFN-gamma: the Hill
    term is exactly 1 in float32): no kills, no NK moves, less IFN-gamma."""
    def rule(behaviour):
        return {"cell_type": "nk", "signal": "ifng", "direction": "decreases",
                "behaviour": behaviour, "half_max": 1e-6, "hill_n": 2, "saturation": 0.0}

    values = {"time.duration_h": 12.0, "cells.nk.kill_probability_per_contact": 1.0,
              "fields.ifng.production_per_min": 0.01, "fields.ifng.initial_value": 0.43,
              "cells.nk.ifng_secretion_per_min": 0.05}  # a tonic rate for the signal to drive down
    base = _run("hand_written", **values)
    assert base.totals["kills"] > 0
    no_kill = _run("hand_written", **values, rules=[rule("kill_probability_per_contact")])
    assert no_kill.totals["kills"] == 0 and no_kill.totals["contacts_single"] > 0
    silent = _run("hand_written", **values, rules=[rule("ifng_secretion")])  # the active rate to 0
    no_active_rate = _run("hand_written", **{**values, "cells.nk.ifng_secretion_per_min": 0.0})
    assert_same_state(model_state(silent), model_state(no_active_rate))
    still = _run("neither", **{**values, "placement.0.count": 0}, rules=[rule("motility")])
    assert still.totals["moves"] == 0


def test_a_grammar_rule_on_a_behaviour_whose_rule_does_not_run_is_an_error():
    rule = {"cell_type": "nk", "signal": "ifng", "direction": "increases", "behaviour": "motility",
            "half_max": 0.1, "hill_n": 1, "saturation": 20.0}
    with pytest.raises(ConfigError, match="acted on by the rule nk.patrol, which is ablated in this config"):
        load_config(CONFIG, {"rules": [rule], "ablate": ["nk.patrol"]})
