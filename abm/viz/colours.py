"""One colour per (cell type, state), distinct for every type a run has, plugins' included.

`abm plot`, `abm movie`, `abm view` and the live view all colour cells through Categories
(abm/viz/plot.py), which takes its colours from category_colours here. The built-in types keep
fixed colours (TYPE_COLOURS), so a figure reads the same from run to run. Any other (type, state)
(a plugin's type, or a state a built-in type gains later) takes the first colour of CANDIDATES
that is far enough from every colour already in use, the built-ins' included whether or not the
run has them, and from white (empty sites). "Far enough" is a distance in CIE Lab (about how
different two colours look), MIN_DELTA_E: the closest two built-in colours are 19 apart. After
the listed candidates come golden-angle hues at three lightnesses (thousands), and when none is
far enough the distance asked for shrinks step by step: the palette extends to any number of
categories a run could have, never giving two the same colour.
"""
from __future__ import annotations

import colorsys
import functools

import numpy as np

# Colours per built-in cell type, one per state in code order (the states each type declares, abm/cells/).
TYPE_COLOURS = {
    "tumor": ["#d62728", "#ff7f0e", "#f7a1a1", "#8c564b"],  # proliferating, invasive, dormant, apoptotic
    "nk": ["#1f77b4", "#17becf", "#6baed6", "#08306b", "#b5cfe8"],  # active, conjugated, exposed, exhausted, quiescent
    "stellate": ["#a1d99b", "#238b45"],  # quiescent, activated
    "neutrophil": ["#e377c2", "#7b2d8e"],  # free, bound
    "tcell": ["#dbdb8d", "#8c6d31"],  # free, bound
}
EMPTY_COLOUR = "#ffffff"
# Kelly's colours of maximum contrast (less white and black), then matplotlib's tab20 shades that
# the built-ins leave: tried in this order for the other categories.
CANDIDATES = [
    "#875692", "#f3c300", "#0067a5", "#be0032", "#008856", "#f38400", "#a1caf1", "#c2b280", "#848482",
    "#e68fac", "#604e97", "#f99379", "#b3446c", "#dcd300", "#882d17", "#8db600", "#654522", "#e25822",
    "#2b3d26", "#222222", "#2ca02c", "#9467bd", "#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a",
    "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#9edae5",
]
MIN_DELTA_E = 18.0


def lab(colours: list[str]) -> np.ndarray:
    """CIE L*a*b* (D65) of '#rrggbb' colours, one row each."""
    rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colours], dtype=float).reshape(-1, 3) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz /= [0.95047, 1.0, 1.08883]
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def _golden_hues(n: int) -> list[str]:
    """Further candidates: hues a golden angle apart, at three lightnesses in turn."""
    out = []
    for k in range(n):
        r, g, b = colorsys.hls_to_rgb((k * 0.381966) % 1.0, (0.35, 0.55, 0.75)[k % 3], 0.75)
        out.append(f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}")
    return out


@functools.lru_cache(maxsize=1)
def _candidates() -> tuple[list[str], np.ndarray]:
    names = list(dict.fromkeys(CANDIDATES + _golden_hues(3000)))  # golden-angle hues: no two alike
    return names, lab(names)


class _Palette:
    """Colours handed out so far, and the next candidate far enough from all of them."""

    def __init__(self, reserved: list[str]):
        names, points = _candidates()
        self.names, self.free = names, np.array([name not in reserved for name in names])
        # each candidate's distance to its nearest colour in use
        self.nearest = np.linalg.norm(points[:, None] - lab(reserved)[None], axis=-1).min(axis=1)
        self.points = points

    def next(self) -> str:
        for min_distance in (MIN_DELTA_E, 12.0, 8.0, 4.0, 0.0):
            fits = np.flatnonzero(self.free & (self.nearest >= min_distance))
            if len(fits):
                k = int(fits[0])  # the first that fits: candidates are in order of preference
                self.free[k] = False
                self.nearest = np.minimum(self.nearest, np.linalg.norm(self.points - self.points[k], axis=1))
                return self.names[k]
        raise ValueError("more cell categories than colours")  # over 3000 categories


@functools.lru_cache(maxsize=64)
def _colours(types: tuple[str, ...], states: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    palette = None  # made when first needed: runs of the built-in types alone never need it
    out = []
    for t_name, t_states in zip(types, states):
        own = TYPE_COLOURS.get(t_name, [])
        for s in range(len(t_states)):
            if s >= len(own) and palette is None:
                palette = _Palette([EMPTY_COLOUR, *(c for colours in TYPE_COLOURS.values() for c in colours)])
            out.append(own[s] if s < len(own) else palette.next())
    return tuple(out)


def category_colours(types: list[str], states: dict[str, list[str]]) -> list[str]:
    """'#rrggbb' of each (type, state) in code order (types in order, each type's states in order)."""
    return list(_colours(tuple(types), tuple(tuple(states[t]) for t in types)))
