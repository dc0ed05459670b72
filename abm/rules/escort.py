"""What neutrophils and double-positive T cells share: they walk, bind VCAM1+ tumor cells they
touch, hold on (following the partner when it moves) until the bond breaks or the partner dies,
and live for a limited time.

`escort_rules(type_name)` gives the named rules of such a type; each escort type declares them
in its own module (abm/cells/neutrophil.py, abm/cells/tcell.py) with its own thresholds."""
from __future__ import annotations

from ..kernels.philox import probability_threshold, rate_threshold
from ..spec import Behaviour, Rule
from .movement import propose_moves
from .movement_binding import bind_to_touching_tumor, keep_or_break_bonds


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


def begin(ctx, cells, params) -> None:
    xp = ctx.xp
    cells.dies = cells.holds = cells.binds = xp.zeros(cells.n, dtype=bool)
    cells.partner_slot = xp.zeros(cells.n, dtype=xp.int64)  # of the held or new partner, where bound


def lifespan(ctx, cells, params) -> None:
    cells.dies = ctx.happens(cells.draws("lifespan")[0], params.thresholds["death"])
    cells.intents.die(cells.slots, where=cells.dies)


def bonds(ctx, cells, params) -> None:
    cells.holds, cells.partner_slot = keep_or_break_bonds(ctx, cells.intents, cells.slots,
                                                          params.thresholds["unbind"], f"{cells.type_name}.binding")


def binding(ctx, cells, params) -> None:
    threshold = cells.threshold("binding", params.thresholds["bind"])  # a signal's chance, if one set it
    cells.binds, target = bind_to_touching_tumor(ctx, cells.intents, cells.slots, ~cells.holds & ~cells.dies,
                                                 threshold, f"{cells.type_name}.binding")
    cells.partner_slot = ctx.xp.where(cells.binds, target, cells.partner_slot)


def follow_partner(ctx, cells, params) -> None:
    """Towing: a bound escort claims the site its partner leaves, decided after the moves in the
    same step (resolution.follow_leaders), so the pair keeps touching and travels as a unit. Of
    several escorts of one partner one follows; the others keep the bond only if still touching."""
    cells.intents.follow(cells.slots, cells.partner_slot, where=(cells.holds | cells.binds) & ~cells.dies)


def walk(ctx, cells, params) -> None:
    t = params.thresholds
    bound = cells.holds | cells.binds
    destinations, moves = propose_moves(ctx, cells.slots, cells.threshold("motility", t["move"]),
                                        f"{cells.type_name}.move", t["bias"],
                                        "chemoattractant", walking=~bound & ~cells.dies)
    cells.intents.move(cells.slots, destinations, where=moves)


def finish(ctx, cells, params) -> None:
    xp = ctx.xp
    bound = cells.holds | cells.binds
    states = ctx.spec.state[cells.type_name]
    cells.intents.update("state", cells.slots, xp.where(bound, xp.int8(states["bound"]), xp.int8(states["free"])))


def escort_rules(type_name: str, kind: str, config_model) -> list[Rule]:
    """The rules of an escort type; `kind` names its cells in the descriptions."""
    def keys(*names):
        return tuple(f"{type_name}.{n}" for n in names if n in config_model.model_fields)

    return [
        Rule("lifespan", lifespan, f"{kind} die at the end of a mean lifespan", keys("lifespan_h"),
             when=lambda c: getattr(c.cells, type_name).lifespan_h is not None),
        Rule("bonds", bonds, f"bound {kind} keep their tumor partner while they touch it, until the bond breaks or "
             "the partner dies", keys("unbinding_rate_per_h")),
        Rule("vcam1_binding", binding, f"free {kind} touching a VCAM1+ tumor cell may bind it",
             keys("binding_probability_per_contact")),
        Rule("follow_partner", follow_partner, f"bound {kind} follow their tumor partner into the site it leaves, "
             "so the pair travels as a unit"),
        Rule("walk", walk, f"free {kind} random-walk" + (", some moves up the chemoattractant"
                                                         if "chemotaxis_bias" in config_model.model_fields else ""),
             keys("move_rate_per_h", "chemotaxis_bias")),
    ]


def escort_behaviours(type_name: str) -> tuple[Behaviour, ...]:
    """The behaviours an escort type exposes to the grammar and to other types' rules."""
    return (
        Behaviour("binding", lambda p: p.thresholds["bind"] / 2**32, "probability",
                  "binding a touching VCAM1+ tumor cell, per step of contact", used_by="vcam1_binding",
                  base_key=f"{type_name}.binding_probability_per_contact"),
        Behaviour("motility", lambda p: p.thresholds["move"] / 2**32, "1/h", "random walk of free cells",
                  used_by="walk", base_key=f"{type_name}.move_rate_per_h"),
    )


PURPOSES = {"binding": 10, "lifespan": 11, "move": 12}  # keys kept from before the spec, for bit-identical runs
