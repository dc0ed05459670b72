"""What neutrophils and double-positive T cells share: they walk, bind VCAM1+ tumor cells they
touch, hold on until the bond breaks or the partner dies, and live for a limited time."""
from __future__ import annotations


from ..kernels.philox import probability_threshold, rate_threshold
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


def decide_escort(ctx, intents, slots, t: dict, states: dict, depleted: bool, purposes: tuple[str, str]):
    """Shared rules; `states` maps 'free'/'bound' to state codes; purposes: (bond, move) streams."""
    xp = ctx.xp
    if depleted:
        intents.die(slots)
        return
    words = ctx.draws("lifespan", slots)
    dies = ctx.happens(words[0], t["death"])
    intents.die(slots, where=dies)
    holds = keep_or_break_bonds(ctx, intents, slots, t["unbind"], purposes[0])
    binds = bind_to_touching_tumor(ctx, intents, slots, ~holds & ~dies, t["bind"], purposes[0])
    bound = holds | binds
    destinations, moves = propose_moves(ctx, slots, t["move"], purposes[1], t["bias"], "chemoattractant",
                                        walking=~bound & ~dies)
    intents.move(slots, destinations, where=moves)
    state = xp.where(bound, xp.int8(states["bound"]), xp.int8(states["free"]))
    intents.update("state", slots, state)


