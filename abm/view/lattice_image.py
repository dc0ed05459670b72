"""Lattice state -> RGB image and legend entries, in `abm plot`'s colours (abm/viz/plot.py).

Pure NumPy: no figure, no widget, so the live app, Mesa components and tests share it. The
image is drawn as `abm plot` draws it: x to the right, y up (row 0 is the top, the largest y).
A 3D lattice shows one plane normal to `axis` (default: the z mid-plane).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..viz.plot import EMPTY_COLOUR, Categories


@dataclass(frozen=True)
class LegendEntry:
    label: str  # "tumor proliferating", or the type alone when it has one state
    colour: str  # "#rrggbb"
    count: int  # cells of this type and state in the plane shown


@dataclass(frozen=True)
class LatticeImage:
    rgb: np.ndarray  # uint8 [rows, columns, 3]: rows are y (top = largest y), columns x
    legend: list[LegendEntry]  # the categories present in the plane, in code order
    plane: str  # "" in 2D; "z = 10 of 20" in 3D


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def plane_of(values: np.ndarray, axis: int = 2, index: int | None = None) -> tuple[np.ndarray, str]:
    """The [horizontal, vertical] plane to draw: the array itself in 2D; in 3D the plane `index`
    (default the middle) normal to `axis`, and its label."""
    if values.ndim == 2:
        return values, ""
    index = values.shape[axis] // 2 if index is None else int(index)
    if not 0 <= index < values.shape[axis]:
        raise ValueError(f"plane index {index} outside 0..{values.shape[axis] - 1}")
    return np.take(values, index, axis=axis), f"{'xyz'[axis]} = {index} of {values.shape[axis]}"


def lattice_rgb(cats: Categories, cell_type: np.ndarray, cell_state: np.ndarray) -> np.ndarray:
    """The lattice as colours, indexed like it ([x, y] or a plane) plus a last axis of RGB (uint8):
    white where empty, each (type, state) in its `abm plot` colour."""
    palette = np.array([hex_rgb(c) for c in [EMPTY_COLOUR, *cats.colours]], dtype=np.uint8)
    return palette[cats.codes(cell_type, cell_state)]


def lattice_image(cell_type: np.ndarray, cell_state: np.ndarray, types: list[str], states: dict[str, list[str]],
                  axis: int = 2, index: int | None = None) -> LatticeImage:
    """Colour each site by its cell's (type, state), white where empty (codes as in the run files:
    type and state codes per site, -1 where empty)."""
    cell_type, plane = plane_of(np.asarray(cell_type), axis, index)
    cell_state, _ = plane_of(np.asarray(cell_state), axis, index)
    cats = Categories.of(types, states)
    codes = cats.codes(cell_type, cell_state)
    rgb = lattice_rgb(cats, cell_type, cell_state).transpose(1, 0, 2)[::-1]  # [x, y] -> rows of y, top: largest y
    counts = np.bincount(codes.ravel(), minlength=len(cats.pairs) + 1)
    legend = [LegendEntry(cats.label(i), cats.colours[i], int(counts[i + 1]))
              for i in range(len(cats.pairs)) if counts[i + 1]]
    return LatticeImage(np.ascontiguousarray(rgb), legend, plane)


def upscale(rgb: np.ndarray, target_px: int = 480) -> np.ndarray:
    """Repeat each site into a square of pixels, so that a small lattice is not a blur in the browser."""
    factor = max(1, target_px // max(rgb.shape[0], rgb.shape[1], 1))
    return rgb if factor == 1 else np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)
