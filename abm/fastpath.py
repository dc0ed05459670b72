"""The fast path's contract: what the fused steps implement, and whether a run may take them.

The fused steps (abm/fused.py on the CPU, abm/fused_gpu.py on a GPU) run the minimal rule set
in a few compiled passes, bit-identical to the general step. They declare what they cover as an
allow-list (types, rules, the keys those rules read, columns, codes, random purposes);
`why_not_fused(config, backend)` checks a config against it and names the first thing outside.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .kernels import _numba
from .kernels import fused_minimal as kernel

# What the fused kernels implement: an allow-list. A run qualifies only if every rule that runs
# is listed, every key those rules read has a value the kernels honour, and the types, columns,
# codes and random purposes are the ones the kernels were written for. Anything else takes the
# general step, with the reason in `model.fused_reason`.
FUSED_TYPES = ("tumor", "nk")
FUSED_RULES = (
    "tumor.anoikis", "tumor.apoptosis", "tumor.division",
    "tumor.dormancy",  # acts only on what drives dormancy: fields or grammar rules, both outside the list
    "nk.conjugation", "nk.education", "nk.contact_kill", "nk.release", "nk.patrol", "nk.tumor_exposure",
)
ANY = object()
# Keys read by the listed rules: any value, or the only value the kernels implement.
FUSED_KEYS = {
    "tumor.isolated_death_rate_per_h": ANY, "tumor.death_rate_per_h": ANY, "tumor.caspase_duration_min": ANY,
    "tumor.division_rate_per_h": ANY,
    "tumor.cytokine_division_boost": ANY, "tumor.cytokine_half_max": ANY,  # need a field: inert here
    "nk.conjugation_time_min": 0.0, "nk.inhibitory_receptor_gain_per_contact": ANY,
    "tumor.activating_ligand_shedding_per_h": 0.0,  # education scales by the CD155 left: all of it without shedding
    "nk.kill_probability_per_contact": ANY, "nk.inhibitory_receptor_weight": ANY,
    "tumor.activating_ligand_single": ANY, "tumor.activating_ligand_cluster_loss": ANY,
    "tumor.inhibitory_ligand_single": ANY, "tumor.inhibitory_ligand_cluster_gain": ANY,
    "tumor.epithelial_neighbours_half": ANY,
    "tcell.nk_suppression": ANY,  # acts through bound T cells, which a run of tumor and NK cells has none of
    "nk.move_rate_per_h": ANY, "nk.chemotaxis_bias": ANY,  # the bias needs a field: inert here
    "nk.exposed_threshold": ANY,
}
FUSED_COLUMNS = ("id", "cell_type", "state", "site", "state_age_min", "cycle_clock_min", "clone", "partner",
                 "partner_site", "heading", "mesenchymal", "vcam1", "plxnb2", "division_boost",
                 "activating_ligand_left",
                 "inhibitory_receptors", "kills")
# Copied to daughters by the kernels but not read by their division: a run whose cells start with
# them set (placed from another run) takes the general step.
FUSED_UNREAD_COLUMNS = ("division_boost", "activating_ligand_left")
FUSED_PURPOSES = {"claim_priority": kernel.P_CLAIM, "tumor.division": kernel.P_DIVISION,
                  "nk.move": kernel.P_NK_MOVE, "nk.kill": kernel.P_NK_KILL, "tumor.death": kernel.P_DEATH}


def _setting(config, key):
    type_name, _, name = key.partition(".")
    return getattr(getattr(config.cells, type_name), name)


def _codes_differ(spec) -> str | None:
    """The kernels' constants must be the spec's codes."""
    expected = {"type tumor": (spec.type_code.get("tumor"), kernel.TUMOR),
                "type nk": (spec.type_code.get("nk"), kernel.NK),
                "tumor apoptotic": (spec.state["tumor"]["apoptotic"], kernel.T_APOPTOTIC),
                "nk exposed": (spec.state["nk"]["exposed"], kernel.NK_EXPOSED),
                "category tumor_epithelial": (spec.category.get("tumor_epithelial"), kernel.C_EPITHELIAL),
                "category tumor_mesenchymal": (spec.category.get("tumor_mesenchymal"), kernel.C_MESENCHYMAL),
                "category nk_exposed": (spec.category.get("nk_exposed"), kernel.C_NK_EXPOSED)}
    expected.update({f"purpose {k}": (spec.purposes.get(k), v) for k, v in FUSED_PURPOSES.items()})
    wrong = [name for name, (ours, theirs) in expected.items() if ours != theirs]
    return f"codes differ from the kernels': {', '.join(wrong)}" if wrong else None


def why_not_fused(config, backend_name: str) -> str | None:
    """None if the fused step reproduces this config's general step, else the reason it does not."""
    from .schedule import Schedule

    spec = config.spec
    if os.environ.get("ABM_FUSED", "1") == "0":
        return "switched off by ABM_FUSED=0"
    if backend_name == "cpu" and not _numba.enabled():  # the GPU's fused step (abm/fused_gpu.py) is CUDA
        return f"numba unavailable ({_numba.WHY_NOT})"
    if config.fields:
        return "fields are simulated"
    if any(switch is not None for _, switch in config.interventions):
        return "interventions are configured"
    if config.rules:
        return "grammar rules are configured"
    ablated = [name for name in config.ablate if name in FUSED_RULES]
    if ablated:  # the kernels run all of their rules
        return f"rules the fused step runs are ablated: {', '.join(ablated)}"
    carried = [c for p in config.placement if p.pattern == "from_run" for c in p.columns if c in FUSED_UNREAD_COLUMNS]
    if carried:
        return (f"cells placed from another run carry {', '.join(sorted(set(carried)))}, "
                "which the fused step does not read")
    types = {p.cell_type for p in config.placement} | {
        p.escort_type for p in config.placement if getattr(p, "escort_type", None)}
    if not types <= set(FUSED_TYPES):
        return f"cell types beyond tumor and NK: {sorted(types - set(FUSED_TYPES))}"
    if tuple(spec.columns) != FUSED_COLUMNS:
        return f"agent columns beyond the fused step's: {sorted(set(spec.columns) ^ set(FUSED_COLUMNS))}"
    reason = _codes_differ(spec)
    if reason:
        return reason
    running = [name for name in Schedule(spec, config).rule_names() if name.partition(".")[0] in types]
    beyond = [name for name in running if name not in FUSED_RULES]
    if beyond:
        return f"rules beyond the fused step's: {', '.join(beyond)}"
    for name in running:
        for key in spec.rules[name][1].reads:
            allowed = FUSED_KEYS.get(key)
            if allowed is None:
                return f"rule {name} reads {key}, which the fused step does not cover"
            if allowed is not ANY and _setting(config, key) != allowed:
                return f"{key} = {_setting(config, key)} (the fused step covers only {allowed})"
    return None


def minimal_rule_parameters(model) -> tuple[np.ndarray, np.ndarray, float]:
    """(tumor_params, nk_params, caspase+ duration in minutes) of the fused kernels, from the
    general rules' own preparation (so both steps use the same thresholds).

    tumor_params: float64[death threshold, isolated death threshold, division threshold];
    nk_params: float64[move threshold, receptor gain, kill probability, activating single,
    activating cluster loss, inhibitory single, inhibitory cluster gain, epithelial half,
    receptor weight, exposed threshold]. Thresholds are integers below 2**33, exact in float64.
    """
    from .cells import nk as nk_rules
    from .cells import tumor as tumor_rules

    cells, dt = model.config.cells, model.dt_min
    tumor = tumor_rules.prepare(cells, dt, {})
    nk = nk_rules.prepare(cells, dt, {})
    division = np.float32(tumor.division_probability)  # as the general rule: float32, then * 2**32
    tumor_params = np.array([tumor.death_threshold, tumor.isolated_death_threshold,
                             int(np.float64(division) * 2.0**32)], dtype=np.float64)
    c, t = cells.nk, cells.tumor
    nk_params = np.array([
        nk.move_threshold, c.inhibitory_receptor_gain_per_contact, nk.kill_probability,
        t.activating_ligand_single, t.activating_ligand_cluster_loss, t.inhibitory_ligand_single,
        t.inhibitory_ligand_cluster_gain, t.epithelial_neighbours_half, nk.receptor_weight,
        c.exposed_threshold], dtype=np.float64)
    return tumor_params, nk_params, t.caspase_duration_min


@dataclass
class FusedEvents:
    """The step's tallies as host integers (what model.collect reads)."""

    tallies: dict = field(default_factory=dict)
    histogram: np.ndarray | None = None  # cells per (type, state), flat as celltypes.count_columns
