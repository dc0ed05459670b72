"""Diffusion-decay of a cytokine field, NumPy twin of diffusion.cu.

Scheme: locally one-dimensional (LOD) implicit splitting, as BioFVM does (Ghaffarizadeh et al.,
Bioinformatics 2016): one backward-Euler solve per axis per step, each a tridiagonal system
solved by the Thomas algorithm, with first-order decay split evenly between the axes.
Backward Euler gives an M-matrix on every axis, so the update is unconditionally stable,
never produces negative values from non-negative data and does not oscillate, at any time step.
With no-flux walls and no decay it conserves mass.

The Thomas coefficients depend only on the axis, so they are computed once on the host in
float64. Fields are stored in float32 (half the memory traffic) but each sweep computes in
float64 and rounds once per stored value: rounding the coefficients to float32 would bias
every step the same way and leak mass. The sweeps below and in diffusion.cu do the same
operations in the same order, so both backends produce bit-identical fields (CUDA compiled
with --fmad=false).

Sources and uptake (c <- (c + secreted) * keep at the cells' sites) are not here: the types'
secrete phases apply them in one per-cell kernel, abm/engine/secretion.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AxisCoefficients:
    """Thomas coefficients of (1 + decay_share + 2r) c_i - r c_{i-1} - r c_{i+1} = d_i on one axis
    (first and last rows adjusted for the walls)."""

    r: np.float64  # D dt / dx^2
    inv_denominator: np.ndarray  # 1 / pivot, per position on the axis
    upper: np.ndarray  # -c'_i of the Thomas algorithm (>= 0), per position
    boundary_inflow: np.float64  # 2 r * boundary value, added at both ends (fixed-value walls)


def axis_coefficients(n, diffusion_um2_per_min, decay_per_min, dx_um, dt_min, n_axes,
                      boundary="no_flux", boundary_value=0.0):
    r = diffusion_um2_per_min * dt_min / dx_um**2
    decay_share = decay_per_min * dt_min / n_axes
    fixed = boundary == "fixed"
    diagonal = np.full(n, 1.0 + decay_share + 2.0 * r)
    # The wall lies half a site beyond the first and last site centres. No-flux: no exchange
    # with it. Fixed value: exchange over half a spacing, so twice the coupling (finite volumes).
    wall_coupling = 2.0 * r if fixed else 0.0
    diagonal[0] += wall_coupling - r
    diagonal[-1] += wall_coupling - r
    inv_denominator = np.empty(n)
    upper = np.empty(n)
    previous_upper = 0.0
    for i in range(n):
        pivot = diagonal[i] - r * previous_upper
        inv_denominator[i] = 1.0 / pivot
        upper[i] = (r / pivot) if i < n - 1 else 0.0
        previous_upper = upper[i]
    return AxisCoefficients(
        r=np.float64(r),
        inv_denominator=inv_denominator,
        upper=upper,
        boundary_inflow=np.float64(wall_coupling * boundary_value),
    )


def explicit_stability_limit_min(diffusion_um2_per_min, dx_um, ndim):
    """Largest time step of the explicit (forward Euler) scheme: dx^2 / (2 ndim D)."""
    return dx_um**2 / (2 * ndim * diffusion_um2_per_min)


def solve_axis_numpy(field, axis, coefficients: AxisCoefficients):
    """One implicit sweep along `axis`, in place."""
    lines = np.moveaxis(field, axis, 0)  # a view: lines[i] is the plane at position i
    n = lines.shape[0]
    r, inv, upper = coefficients.r, coefficients.inv_denominator, coefficients.upper
    inflow = coefficients.boundary_inflow
    if inflow != 0:
        lines[0] = lines[0] + inflow
        lines[n - 1] = lines[n - 1] + inflow
    # Arithmetic in float64, storage in the field's dtype: rounding the coefficients to
    # float32 would bias every step the same way and leak mass (~1e-7 per step).
    lines[0] = lines[0] * inv[0]
    for i in range(1, n):  # forward elimination
        lines[i] = (lines[i] + r * lines[i - 1]) * inv[i]
    for i in range(n - 2, -1, -1):  # back substitution
        lines[i] = lines[i] + upper[i] * lines[i + 1]


def diffuse_numpy(field, axes_coefficients):
    """Advance one step: an implicit sweep per axis (axes of length 1 are skipped).

    The reference that defines the semantics; `diffuse` runs its numba twin
    (diffusion_numba.py, bit-identical) on C-contiguous float32 fields when numba is enabled."""
    for axis, coefficients in enumerate(axes_coefficients):
        if coefficients is not None:
            solve_axis_numpy(field, axis, coefficients)
    return field


def diffuse(field, axes_coefficients, xp=np):
    """Dispatch one step: CUDA on CuPy arrays, else the numba twin (when enabled and the field
    is C-contiguous float32), else the NumPy reference."""
    if xp is np:
        from . import _numba

        if (_numba.enabled() and isinstance(field, np.ndarray) and field.dtype == np.float32
                and field.flags.c_contiguous):
            from . import diffusion_numba

            if field.size == 0:
                return field
            sameness = diffusion_numba.sameness(field)  # one pass: all +0.0, all equal, or neither
            if sameness == diffusion_numba.ZERO and not _inflow(axes_coefficients):
                return field  # a sweep would leave every value +0.0: skip it (a field no cell secretes yet)
            if sameness != diffusion_numba.VARIED:
                return diffuse_uniform(field, axes_coefficients, diffusion_numba.solve_axis,
                                       diffusion_numba.constant_line)
            return diffusion_numba.diffuse(field, axes_coefficients)
        if _all_positive_zero(field, axes_coefficients):
            return field
        return diffuse_numpy(field, axes_coefficients)
    from . import _cuda

    return _cuda.diffuse(field, axes_coefficients)


def diffuse_fields(fields, axes_of_fields, xp=np):
    """One step of several fields of one shape, each as `diffuse` steps it. On a GPU, one launch
    per axis for all of them (a launch costs host time whatever its size); on the CPU, field by
    field."""
    if xp is np:
        for field, axes in zip(fields, axes_of_fields):
            diffuse(field, axes)
        return fields
    from . import _cuda

    return _cuda.diffuse_fields(list(fields), list(axes_of_fields))


def _constant_line_numpy(value, n, coefficients, solve_axis=solve_axis_numpy):
    line = np.full(n, value, dtype=value.dtype)  # value: one of the field's own (its dtype)
    solve_axis(line, 0, coefficients)
    return line, bool((line.view(np.uint32) == line[:1].view(np.uint32)).all())


def diffuse_uniform(field, axes_coefficients, solve_axis=solve_axis_numpy, constant_line=None):
    """One step of a field whose values are all equal (a cytokine produced everywhere and taken up
    nowhere), in place, with the same bits as sweeping it: the lines along an axis then all hold the
    same values and coefficients, so each comes out as one line solved alone. While that line stays
    uniform the field does too (one value per axis); once it does not, it is broadcast into the field
    and the remaining axes are swept as usual."""
    if constant_line is None:  # (value, n, coefficients) -> (the line swept, whether it stayed uniform)
        def constant_line(value, n, coefficients):
            return _constant_line_numpy(value, n, coefficients, solve_axis)
    value = field.reshape(-1)[:1].copy()
    for axis, coefficients in enumerate(axes_coefficients):
        if coefficients is None:
            continue
        line, uniform = constant_line(value[0], field.shape[axis], coefficients)
        if not uniform:
            shape = [1] * field.ndim
            shape[axis] = line.shape[0]
            field[...] = line.reshape(shape)
            for later, rest in enumerate(axes_coefficients[axis + 1:], start=axis + 1):
                if rest is not None:
                    solve_axis(field, later, rest)
            return field
        value = line[:1]
    field[...] = value[0]
    return field


def _inflow(axes_coefficients) -> bool:
    """True when a wall adds inflow on some axis (a field of +0.0 then changes)."""
    return any(c is not None and c.boundary_inflow != 0 for c in axes_coefficients)


def _all_positive_zero(field, axes_coefficients) -> bool:
    """True when every value is +0.0 (all bits zero) and no wall adds inflow: each sweep then gives
    +0.0 again, exactly. One read of the field on the host; on a GPU the check would be a wait for
    the device, so fields there are always swept."""
    if _inflow(axes_coefficients):
        return False
    if not isinstance(field, np.ndarray) or not field.flags.c_contiguous or field.dtype.itemsize != 4:
        return False
    return not field.view(np.uint32).any()


class DiffusionOperator:
    """All per-axis coefficients of one field on one lattice, built once per run."""

    def __init__(self, shape, dx_um, dt_min, diffusion_um2_per_min, decay_per_min,
                 boundary="no_flux", boundary_value=0.0):
        active = [n for n in shape if n > 1]
        self.shape = tuple(shape)
        self.axes = [
            axis_coefficients(n, diffusion_um2_per_min, decay_per_min, dx_um, dt_min,
                              len(active), boundary, boundary_value) if n > 1 else None
            for n in shape
        ]

    def step(self, field, xp=np):
        return diffuse(field, self.axes, xp=xp)
