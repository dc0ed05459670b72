"""Play paced by the page: the next step waits until the page has drawn the last one.

Mesa's SolaraViz plays by stepping in a thread and asking the page to redraw after each step.
When a redraw takes longer than a step (a large lattice, a busy machine), the steps change the
page's state during every redraw: Solara then gives up ("Too many renders triggered") and the
page loses its components, or play stalls with the pause button shown. Here the live model's
`step` first waits for the page to report that it drew the previous step (at most `patience_s`,
so a page that never draws cannot stop the model). A model outside the live page is untouched.
"""
from __future__ import annotations

import threading


class Pacer:
    """The model's steps wait for `drawn()` (called after each redraw) before going on."""

    def __init__(self, model, patience_s: float = 30.0):
        self.model, self.patience_s = model, patience_s
        self.ready = threading.Event()
        self.step = model.step  # Mesa's wrapped step (it counts model.steps)

    def paced_step(self, *args, **kwargs):
        self.ready.wait(self.patience_s)
        self.ready.clear()
        return self.step(*args, **kwargs)

    def drawn(self) -> None:
        self.ready.set()


def pace(model) -> Pacer | None:
    """Make `model.step` wait for the page's redraws (once per model; None for no model)."""
    if model is None:
        return None
    pacer = getattr(model, "_pacer", None)
    if pacer is None:
        pacer = Pacer(model)
        model._pacer = pacer
        model.step = pacer.paced_step
    return pacer


def drawn(model) -> None:
    """The page has drawn `model`'s current step: a paced model may take the next."""
    pacer = getattr(model, "_pacer", None)
    if pacer is not None:
        pacer.drawn()
