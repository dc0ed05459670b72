"""The implicit LOD diffusion sweep compiled for the CPU with numba: the twin of
`diffusion.solve_axis_numpy` / `diffusion.diffuse_numpy` (and of diffuse_axis in diffusion.cu).

Why a twin: the NumPy reference runs one vectorised statement per position along the axis, so
every sweep makes ~8 passes over the field through float64 temporaries the size of a plane,
plus interpreter overhead per plane. Here each element is loaded once in the forward and once
in the backward pass and the float64 values live only in registers.

Bit-identical by construction: per stored value the operations are exactly those of NumPy,
in the same order, in float64, with one rounding to float32 per store:

    inflow (fixed walls): x[0] = f32(f64(x[0]) + inflow)   then the same for x[n-1]
    forward:              x[0] = f32(f64(x[0]) * inv[0])
                          x[i] = f32((f64(x[i]) + r * f64(x[i-1])) * inv[i])   i = 1 .. n-1
    backward:             x[i] = f32(f64(x[i]) + upper[i] * f64(x[i+1]))       i = n-2 .. 0

where x[i-1] / x[i+1] are the stored (already rounded) neighbours. Under NumPy 2 promotion
(NEP 50) a float32 array combined with a np.float64 scalar (r, inv[i], upper[i], inflow) is
computed in float64, hence the f64 above. numba compiles without fastmath, so LLVM neither
contracts a*b+c into an FMA nor reorders anything.

Memory layout: for axis `a` the C-contiguous field is viewed as (before, n, after). Lines along
the axis are independent, so the work is split into items that own disjoint elements:

* after > 1 (every axis but the last): an item is one `before` index and a block of up to
  COLUMNS contiguous columns; the sweep runs over i with the inner loop along the contiguous
  columns (SIMD, the block of n x COLUMNS values stays in cache between the two passes).
* after == 1 (the last axis, lines contiguous): the recurrence along a line is serial, so an
  item is a group of LINES lines (LINES_SHORT for short lines) swept side by side: they are
  copied into a small transposed scratch (n, lines), swept there as columns, as above, and
  copied back.

Items are distributed with prange. Each element is computed by exactly one item with the same
operations whatever the partition, so results do not depend on NUMBA_NUM_THREADS.
Compiled lazily on the first call; the machine code is cached in __pycache__ (always imported as abm.kernels).
Fields below PARALLEL_MIN_SIZE are swept by the calling thread: there a parallel launch
gains microseconds at most, and its spinning worker threads slow down other processes
sharing the cores (e.g. the workers of `abm sweep`).
"""
from __future__ import annotations

import math

import numpy as np

from ._numba import njit, prange

COLUMNS = 512  # contiguous columns per work item when the swept axis is not the last
LINES = 32  # lines per work item when the swept axis is the last (contiguous lines) ...
LINES_SHORT = 64  # ... and when they are at most SHORT sites long: a wider block, still in L1 cache
SHORT = 128
PARALLEL_MIN_SIZE = 1 << 15  # smaller fields are swept by the calling thread alone


@njit(cache=True)
def _columns_item(plane, j0, j1, inv, upper, r, inflow):
    """Sweep columns j0:j1 of plane (n, after) along its first axis, in place. Each row's block is
    taken as a slice and indexed from 0: LLVM then knows every index is in range and non-negative,
    drops numba's wraparound checks and vectorises the inner loops (5x faster than indexing
    row[j0 + k])."""
    n, width = plane.shape[0], j1 - j0
    if inflow != 0.0:
        for i in (0, n - 1):
            row = plane[i, j0:j1]
            for k in range(width):
                row[k] = np.float32(np.float64(row[k]) + inflow)
    row, factor = plane[0, j0:j1], inv[0]
    for k in range(width):
        row[k] = np.float32(np.float64(row[k]) * factor)
    for i in range(1, n):  # forward elimination
        row, previous, factor = plane[i, j0:j1], plane[i - 1, j0:j1], inv[i]
        for k in range(width):
            row[k] = np.float32((np.float64(row[k]) + r * np.float64(previous[k])) * factor)
    for i in range(n - 2, -1, -1):  # back substitution
        row, following, factor = plane[i, j0:j1], plane[i + 1, j0:j1], upper[i]
        for k in range(width):
            row[k] = np.float32(np.float64(row[k]) + factor * np.float64(following[k]))


@njit(cache=True)
def _lines_item(x, l0, m, inv, upper, r, inflow):
    """Sweep lines l0:l0+m of x (lines, n) along their (contiguous) axis, in place: the block is
    transposed into a small scratch (n, m), swept there as columns (vectorised), and transposed back.
    Copies change no bits."""
    n = x.shape[1]
    t = np.empty((n, m), dtype=np.float32)  # t[i, k] = x[l0 + k, i]
    for k in range(m):
        line = x[l0 + k]
        for i in range(n):
            t[i, k] = line[i]
    _columns_item(t, 0, m, inv, upper, r, inflow)
    for k in range(m):
        line = x[l0 + k]
        for i in range(n):
            line[i] = t[i, k]


@njit(cache=True, parallel=True)
def _sweep_columns(x, inv, upper, r, inflow, columns, parallel):
    """Sweep axis 1 of x (before, n, after), after > 1, in place, in blocks of `columns`."""
    before, _, after = x.shape
    blocks = (after + columns - 1) // columns
    if parallel:
        for item in prange(before * blocks):
            j0 = (item % blocks) * columns
            _columns_item(x[item // blocks], j0, min(j0 + columns, after), inv, upper, r, inflow)
    else:
        for item in range(before * blocks):
            j0 = (item % blocks) * columns
            _columns_item(x[item // blocks], j0, min(j0 + columns, after), inv, upper, r, inflow)


@njit(cache=True, parallel=True)
def _sweep_lines(x, inv, upper, r, inflow, lines, parallel):
    """Sweep axis 1 of x (n_lines, n), contiguous lines, in place, in groups of `lines`."""
    n_lines = x.shape[0]
    groups = (n_lines + lines - 1) // lines
    if parallel:
        for group in prange(groups):
            _lines_item(x, group * lines, min(lines, n_lines - group * lines), inv, upper, r, inflow)
    else:
        for group in range(groups):
            _lines_item(x, group * lines, min(lines, n_lines - group * lines), inv, upper, r, inflow)


ZERO, UNIFORM, VARIED = 0, 1, 2


@njit(cache=True)
def _sameness(flat):
    """ZERO if every word is 0, UNIFORM if every word equals the first, else VARIED (stops at the
    first word that differs: most fields with cells in them differ within their first rows)."""
    first, n = flat[0], flat.shape[0]
    for start in range(0, n, 1024):  # blocks without an exit inside: LLVM vectorises them
        block = flat[start:min(start + 1024, n)]
        differs = np.uint32(0)
        for k in range(block.shape[0]):
            differs |= block[k] ^ first
        if differs != 0:
            return VARIED
    return ZERO if first == 0 else UNIFORM


def sameness(field) -> int:
    """ZERO (all +0.0), UNIFORM (every value has the same bits) or VARIED, of a non-empty
    C-contiguous float32 field, in one pass."""
    return _sameness(field.reshape(-1).view(np.uint32))


def uniform(field) -> bool:
    """True when every value of a C-contiguous float32 field has the same bits."""
    return field.size > 0 and sameness(field) != VARIED


@njit(cache=True)
def _constant_line(value, line, inv, upper, r, inflow):
    """line[:] = value swept alone (as _columns_item sweeps one column); True if it stays uniform."""
    for k in range(line.shape[0]):
        line[k] = value
    _columns_item(line.reshape(line.shape[0], 1), 0, 1, inv, upper, r, inflow)
    return _sameness(line.view(np.uint32)) != VARIED


def constant_line(value, n, coefficients):
    """(line, uniform): a line of n sites all at `value` after one sweep with `coefficients`, and
    whether its values still share their bits (diffusion.diffuse_uniform's step, compiled)."""
    line = np.empty(n, dtype=np.float32)
    uniform = _constant_line(np.float32(value), line, np.ascontiguousarray(coefficients.inv_denominator, dtype=np.float64),
                             np.ascontiguousarray(coefficients.upper, dtype=np.float64), float(coefficients.r),
                             float(coefficients.boundary_inflow))
    return line, uniform


def solve_axis(field, axis, coefficients):
    """One implicit sweep along `axis` of a C-contiguous float32 field, in place
    (as `diffusion.solve_axis_numpy`)."""
    shape = field.shape
    n = shape[axis]
    if field.size == 0:
        return field
    inv = np.ascontiguousarray(coefficients.inv_denominator, dtype=np.float64)
    upper = np.ascontiguousarray(coefficients.upper, dtype=np.float64)
    if inv.shape[0] < n or upper.shape[0] < n:
        raise ValueError(f"axis {axis} has length {n} but its coefficients have {inv.shape[0]}")
    r = float(coefficients.r)
    inflow = float(coefficients.boundary_inflow)
    before, after = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
    parallel = field.size >= PARALLEL_MIN_SIZE
    if after == 1:
        _sweep_lines(field.reshape(before, n), inv, upper, r, inflow, LINES_SHORT if n <= SHORT else LINES, parallel)
    else:
        _sweep_columns(field.reshape(before, n, after), inv, upper, r, inflow, COLUMNS, parallel)
    return field


def diffuse(field, axes_coefficients):
    """One step, in place (returns field), as `diffusion.diffuse_numpy`: a sweep per axis whose
    coefficients are not None, in axis order. The field must be C-contiguous float32."""
    if field.dtype != np.float32 or not field.flags.c_contiguous:
        raise ValueError("the numba diffusion sweep needs a C-contiguous float32 field")
    for axis, coefficients in enumerate(axes_coefficients):
        if coefficients is not None:
            solve_axis(field, axis, coefficients)
    return field
