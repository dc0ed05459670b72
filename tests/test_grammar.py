"""The rule grammar: grammar rules reproduce the hand-written IFN-gamma dormancy bit for bit (on
the GPU code path too: tests/test_gpu_path_on_host.py); bad grammar rules are one-line errors."""
from __future__ import annotations

import numpy as np
import pytest

from abm import TissueModel
from abm.config import load_config
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
