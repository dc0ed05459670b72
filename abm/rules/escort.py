"""What neutrophils and double-positive T cells share: they walk, bind VCAM1+ tumor cells they
touch, hold on (following the partner when it moves) until the bond breaks or the partner dies,
and live for a limited time.

`escort_rules(type_name, kind, config)` gives the named per-cell rules of such a type; each escort
type declares them in its own module (abm/cells/neutrophil.py, abm/cells/tcell.py) with its own
thresholds. Working values each step: `dies`, `holds` (an old bond still holds), `binds` (a new
bond formed) and `partner_slot` (the slot of the held or new partner)."""
from __future__ import annotations

import numpy as np

from ..engine.cell_rules import cell_function, cell_rule
from ..engine.scalar import happens, pick_from_mask, site_at_offset
from ..kernels.philox import probability_threshold, rate_threshold
from ..spec import Behaviour
from .bonds import slot_of, touching
from .walk import walk_step

FREE, BOUND = 0, 1  # the states of every escort type, in this order


@cell_function
def bound_to_tumor(state):
    """Neighbours see an escort bound to a tumor cell apart from a free one."""
    return state == BOUND
WORKING = {"dies": False, "holds": False, "binds": False, "partner_slot": 0}


def thresholds(c, dt_min: float, binding_scale: float = 1.0) -> dict:
    per_min = 1.0 / 60.0
    death = 0.0 if c.lifespan_h is None else 1.0 / (c.lifespan_h * 60.0)
    return {
        "move": rate_threshold(c.move_rate_per_h * per_min, dt_min),
        "bias": probability_threshold(getattr(c, "chemotaxis_bias", 0.0)),
        "bind": probability_threshold(c.binding_probability_per_contact * binding_scale),
        "unbind": rate_threshold(c.unbinding_rate_per_h * per_min, dt_min),
        "death": rate_threshold(death, dt_min),
    }


def lifespan(draws_lifespan, p):
    """The cell dies at the end of its lifespan (a constant rate)."""
    return happens(draws_lifespan[0], p.thresholds_death)


def bonds(partner, site, all_id, all_site, categories, category_tumor_epithelial, category_tumor_mesenchymal,
          lattice_shape, offsets, draws_binding, p, new_partner, new_partner_site):
    """A bond holds while the partner lives, is a viable tumor cell and touches the cell, until it
    breaks (at a constant rate); a broken bond forgets the partner."""
    bound = partner >= 0
    found, slot = slot_of(all_id, partner)
    category = categories[slot]
    viable = category == category_tumor_epithelial or category == category_tumor_mesenchymal
    there = found and viable and touching(site, all_site[slot], lattice_shape, offsets.shape[0])
    holds = bound and there and not happens(draws_binding[3], p.thresholds_unbind)
    if bound and not holds:
        new_partner = np.int64(-1)
    if bound:
        new_partner_site = all_site[slot] if holds else np.int64(-1)
    return holds, slot, new_partner, new_partner_site


def binding(holds, dies, site, mask_tumor_epithelial, mask_tumor_mesenchymal, draws_binding, threshold_binding,
            occupancy, all_id, all_vcam1, offsets, lattice_shape, partner_slot, new_partner, new_partner_site):
    """A free cell touching viable tumor cells picks one; if it is VCAM1+ the two may bind."""
    offset = pick_from_mask(mask_tumor_epithelial | mask_tumor_mesenchymal, draws_binding[0], offsets.shape[0])
    touches = offset >= 0
    target_site = site_at_offset(site, offset, lattice_shape[1], lattice_shape[2], offsets)
    target = max(np.int64(occupancy[target_site if touches else 0]), np.int64(0))
    binds = (not holds and not dies and touches and all_vcam1[target] > 0
             and happens(draws_binding[1], threshold_binding))
    if binds:
        new_partner, new_partner_site, partner_slot = all_id[target], target_site, target
    return binds, partner_slot, new_partner, new_partner_site


def follow_partner(holds, binds, dies, partner_slot):
    """Towing: a bound cell claims the site its partner leaves (decided after the moves), so the pair
    keeps touching and travels as a unit; of several escorts of one partner, one follows."""
    return partner_slot if (holds or binds) and not dies else np.int64(-1)


def walk(holds, binds, dies, site, mask_empty, draws_move, threshold_motility, p, field_chemoattractant,
         offsets, lattice_shape):
    """Free cells random-walk (some steps up the chemoattractant, where the type has a bias)."""
    steps, destination = walk_step(site, mask_empty, draws_move, threshold_motility, p.thresholds_bias,
                                   field_chemoattractant, offsets, lattice_shape)
    return destination if steps and not (holds or binds) and not dies else np.int64(-1)


def bound_state(holds, binds):
    """The cell's state: bound while it holds a partner."""
    return np.int8(BOUND) if holds or binds else np.int8(FREE)


def escort_rules(type_name: str, kind: str, config_model) -> list:
    """The rules of an escort type; `kind` names its cells in the descriptions."""
    def keys(*names):
        return tuple(f"{type_name}.{n}" for n in names if n in config_model.model_fields)

    return [
        cell_rule(f"{kind} die at the end of a mean lifespan", "dies", keys("lifespan_h"),
                  when=lambda c: getattr(c.cells, type_name).lifespan_h is not None)(lifespan),
        cell_rule(f"bound {kind} keep their tumor partner while they touch it, until the bond breaks or the "
                  "partner dies", ("holds", "partner_slot", "new_partner", "new_partner_site"),
                  keys("unbinding_rate_per_h"))(bonds),
        cell_rule(f"free {kind} touching a VCAM1+ tumor cell may bind it",
                  ("binds", "partner_slot", "new_partner", "new_partner_site"),
                  keys("binding_probability_per_contact"), name="vcam1_binding")(binding),
        cell_rule(f"bound {kind} follow their tumor partner into the site it leaves, so the pair travels as a "
                  "unit", "follows")(follow_partner),
        cell_rule(f"free {kind} random-walk" + (", some moves up the chemoattractant"
                                                if "chemotaxis_bias" in config_model.model_fields else ""),
                  "move_to", keys("move_rate_per_h", "chemotaxis_bias"))(walk),
    ]


FINISH = cell_rule("escort cells are bound while they hold a partner, else free", "new_state")(bound_state)


def escort_behaviours(type_name: str) -> tuple[Behaviour, ...]:
    """The behaviours an escort type exposes to the grammar and to other types' rules."""
    return (
        Behaviour("binding", lambda p: p.thresholds["bind"] / 2**32, "probability",
                  "binding a touching VCAM1+ tumor cell, per step of contact", used_by="vcam1_binding",
                  base_key=f"{type_name}.binding_probability_per_contact", threshold="thresholds_bind"),
        Behaviour("motility", lambda p: p.thresholds["move"] / 2**32, "1/h", "random walk of free cells",
                  used_by="walk", base_key=f"{type_name}.move_rate_per_h", threshold="thresholds_move"),
    )


PURPOSES = {"binding": 10, "lifespan": 11, "move": 12}  # keys kept from before the spec, for bit-identical runs
