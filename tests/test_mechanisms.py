"""Switching a rule off removes its effect: outcomes come from the rules, not from the arms.

Small, fast variants of the scenario configs (a few seeds, small lattices, short runs).
"""
from abm import TissueModel
from abm.config.plugins import builtin_spec

STATE = builtin_spec().state

CHAN = "configs/chan2020_organoid.yaml"
LIVER = "configs/correia2021_liver.yaml"
LIVER_SMALL = {"lattice.shape": [50, 50], "time.duration_h": 48.0, "placement.1.count": 6}


def _run(config, arm, seed, **overrides):
    model = TissueModel(config, device="cpu", arm=arm, seed=seed, overrides=overrides)
    model.run()
    return model


def test_without_kill_probability_and_ifng_nk_cells_change_nothing_in_organoids():
    for seed in range(3):
        with_nk = _run(CHAN, "healthy_nk", seed, **{"cells.nk.kill_probability_per_contact": 0.0,
                                                    "cells.nk.ifng_secretion_per_min": 0.0,
                                                    "cells.nk.ifng_secretion_in_contact_per_min": 0.0})
        without = _run(CHAN, "no_nk", seed)
        assert with_nk.totals["kills"] == 0
        assert with_nk.count("tumor", "apoptotic") == without.count("tumor", "apoptotic")
        # NK cells only take a few sites at the rim (where chemotaxis brings them), which blocks a few divisions
        assert abs(with_nk.count("tumor") - without.count("tumor")) <= 8


def test_healthy_nk_cells_kill_and_leave_caspase_positive_cells():
    kills = [_run(CHAN, "healthy_nk", seed).totals["kills"] for seed in range(3)]
    assert min(kills) > 0


def test_ifng_holds_cells_dormant_and_switching_the_response_off_removes_dormancy():
    dormant_on = _run(LIVER, "baseline", 1, **LIVER_SMALL).count("tumor", "dormant")
    off = _run(LIVER, "baseline", 1, **LIVER_SMALL, **{"cells.tumor.dormancy_entry_rate_per_h": 0.0})
    blind = _run(LIVER, "ifng_blind", 1, **LIVER_SMALL)
    assert dormant_on > 0
    assert off.count("tumor", "dormant") == 0 and blind.count("tumor", "dormant") == 0
    assert off.count("tumor") > dormant_on


def test_cxcl12_quiets_nk_cells_unless_cxcr4_is_blocked():
    small = {**LIVER_SMALL, "time.duration_h": 72.0, "interventions.stellate_activation.start_h": 0.0,
             "interventions.cxcr4_block.start_h": 0.0}
    activated = _run(LIVER, "stellate_activation", 0, **{k: v for k, v in small.items() if "cxcr4" not in k})
    blocked = _run(LIVER, "cxcr4_block", 0, **small)
    full = _run(LIVER, "cxcr4_block", 0, **small, **{"interventions.cxcr4_block.efficiency": 1.0})
    assert activated.count("nk", "quiescent") > 0.5 * activated.count("nk")
    assert blocked.count("nk", "quiescent") < 0.1 * blocked.count("nk")  # graded: a 90 % block leaves a few
    assert full.count("nk", "quiescent") == 0


def test_without_cluster_ligand_changes_clustered_and_single_targets_are_killed_alike():
    config = "configs/lo2020_ctc_clusters.yaml"
    same = {"cells.tumor.activating_ligand_cluster_loss": 0.0, "cells.tumor.inhibitory_ligand_cluster_gain": 0.0,
            "time.duration_h": 48.0}
    kills = {"single": [0, 0], "clustered": [0, 0]}
    for seed in range(4):
        model = _run(config, "with_nk", seed, **same)
        frame = model.datacollector.get_model_vars_dataframe()
        for kind in kills:
            kills[kind][0] += frame[f"kills_{kind}"].sum()
            kills[kind][1] += frame[f"contacts_{kind}"].sum()
    p_single, p_clustered = (kills[k][0] / kills[k][1] for k in ("single", "clustered"))
    assert kills["single"][1] > 20 and kills["clustered"][1] > 20
    assert abs(p_single - p_clustered) < 0.15  # both near kill_probability_per_contact


def test_neutrophils_bind_only_vcam1_positive_tumor_cells():
    config = "configs/szczerba2019_neutrophils.yaml"
    short = {"time.duration_h": 6.0}
    bound = _run(config, "neutrophil_clusters", 0, **short).count("neutrophil", "bound")
    knocked_out = _run(config, "vcam1_knockout", 0, **short).count("neutrophil", "bound")
    assert bound > 0 and knocked_out == 0


def test_exposed_nk_cells_raise_division_only_through_the_contact_rule():
    """Tumor cells touching exposed NK cells gain a heritable division boost; with the rule
    ablated, or with healthy NK cells, none does."""
    exposed = {"cells.nk.initial_inhibitory_receptors": 15.0, "time.duration_h": 12.0}
    boosted = _run(CHAN, "healthy_nk", 0, **exposed).agents_table()
    ablated = TissueModel(CHAN, device="cpu", arm="healthy_nk", seed=0, overrides=exposed,
                          ablate=["tumor.exposed_nk_division_boost"])
    ablated.run()
    healthy = _run(CHAN, "healthy_nk", 0, **{"time.duration_h": 12.0}).agents_table()
    tumor = boosted["cell_type"] == 0
    cap = ablated.config.cells.tumor.max_division_boost
    assert (boosted["division_boost"][tumor] > 0).sum() >= 3 and boosted["division_boost"].max() <= cap
    assert (ablated.agents_table()["division_boost"] == 0).all() and (healthy["division_boost"] == 0).all()
