"""CuPy launchers for the CUDA kernels in this folder: same signatures and results as the NumPy twins.

Imported only when CuPy arrays are in use (the NumPy twins dispatch here), so CuPy is imported
at module level. Each .cu file is compiled once per process with NVRTC (RawModule) and
--fmad=false, which keeps every a*b+c as two roundings, as NumPy computes it.

Dtypes. Index-like inputs are converted (a no-op when they already have the dtype below, a copy
otherwise): sites, codes int64; occupancy int32; slot_type int8. Fields updated in place must
already be float32 C-contiguous, else TypeError.

These are the array kernels outside the per-cell rules (neighbour scan, diffusion, counts); the
rules, claim-then-resolve and secretion are per-cell kernels compiled by numba-cuda (abm/engine).
"""
from __future__ import annotations

import functools
import os

import cupy
import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
CUDA_SOURCES = [os.path.join(_HERE, name)
                for name in ("neighbours.cu", "diffusion.cu", "counts.cu")]
NVCC_OPTIONS = ("--fmad=false",)
_RAWMODULE_OPTIONS = NVCC_OPTIONS + ("-std=c++17",)
BLOCK = 256


@functools.lru_cache(maxsize=None)
def _module(file_name):
    with open(os.path.join(_HERE, file_name)) as source:
        return cupy.RawModule(code=source.read(), options=_RAWMODULE_OPTIONS)


@functools.lru_cache(maxsize=None)
def _kernel(file_name, kernel_name):
    return _module(file_name).get_function(kernel_name)


def _launch(file_name, kernel_name, n_threads, args):
    """One thread per item; kernels return early past n. Scalars must be NumPy scalars of the
    exact C parameter type (CuPy passes a Python int as 8 bytes)."""
    grid = (int(n_threads) + BLOCK - 1) // BLOCK
    _kernel(file_name, kernel_name)((grid,), (BLOCK,), args)


def _as(array, dtype):
    """C-contiguous device array of `dtype` (no copy when it already is one)."""
    return cupy.ascontiguousarray(cupy.asarray(array).astype(dtype, copy=False))


def _require(array, dtype, what):
    if not (isinstance(array, cupy.ndarray) and array.dtype == dtype
            and array.flags.c_contiguous):
        raise TypeError(f"{what} must be a C-contiguous CuPy {np.dtype(dtype).name} array "
                        f"(it is updated in place), got {type(array).__name__} "
                        f"{getattr(array, 'dtype', '')}")
    return array


# ---------------------------------------------------------------- neighbours.cu

_offsets_cache = {}


def _device_offsets(offsets):
    """Offsets (n, 3) int64 on the device; host tables are uploaded once per content."""
    if isinstance(offsets, cupy.ndarray):
        table = _as(offsets, cupy.int64)
    else:
        host = np.ascontiguousarray(offsets, dtype=np.int64)
        key = (cupy.cuda.runtime.getDevice(), host.shape, host.tobytes())
        table = _offsets_cache.get(key)
        if table is None:
            table = _offsets_cache[key] = cupy.asarray(host)
    if table.ndim != 2 or table.shape[1] != 3:
        raise ValueError(f"offsets must have shape (n, 3), got {table.shape}")
    if table.shape[0] > 32:
        raise ValueError(f"at most 32 offsets fit in a uint32 mask, got {table.shape[0]}")
    return table


def scan_neighbours(occupancy, slot_type, sites, shape, offsets, n_types):
    """(counts int32, masks uint32), both (n, n_types + 1), as scan_neighbours_numpy."""
    dims = tuple(int(s) for s in shape)
    nx, ny, nz = dims + (1,) * (3 - len(dims))
    occupancy = _as(occupancy, cupy.int32)
    slot_type = _as(slot_type, cupy.int8)
    sites = _as(sites, cupy.int64)
    table = _device_offsets(offsets)
    n, width = sites.shape[0], int(n_types) + 1
    counts = cupy.empty((n, width), dtype=cupy.int32)  # the kernel writes whole rows
    masks = cupy.empty((n, width), dtype=cupy.uint32)
    if n:
        _launch("neighbours.cu", "scan_neighbours", n, (
            occupancy, slot_type, sites, np.int64(n), np.int64(nx), np.int64(ny), np.int64(nz),
            table, np.int32(table.shape[0]), np.int32(n_types), counts, masks))
    return counts, masks


# ---------------------------------------------------------------- counts.cu


def count_codes(codes, n_bins):
    """int64 (n_bins,) counts of each code, as count_codes_numpy (codes outside [0, n_bins) skipped)."""
    codes = _as(codes, cupy.int64).ravel()
    counts = cupy.zeros(int(n_bins), dtype=cupy.int64)
    n = codes.size
    if n:
        _launch("counts.cu", "count_codes", n, (codes, np.int64(n), np.int64(n_bins), counts))
    return counts


# ---------------------------------------------------------------- diffusion.cu

_coefficients_cache = {}


def _float64_scalar(value, what):
    # NumPy computes `r * lines` in float64 only for a NumPy float64 scalar; a Python float is
    # a "weak" scalar (NEP 50) and would make the NumPy twin compute in float32.
    if type(value) is not np.float64:
        raise TypeError(f"AxisCoefficients.{what} must be numpy.float64 (as axis_coefficients() "
                        f"builds it) for the CUDA and NumPy sweeps to agree, got "
                        f"{type(value).__name__}")
    return value


def _device_coefficients(coefficients):
    """(inv_denominator, upper) float64 on the device, uploaded once per AxisCoefficients."""
    key = (id(coefficients), cupy.cuda.runtime.getDevice())
    cached = _coefficients_cache.get(key)
    if cached is None or cached[0] is not coefficients:
        # The cache keeps the object alive, so its id cannot be reused by another one.
        cached = _coefficients_cache[key] = (
            coefficients,
            cupy.asarray(np.ascontiguousarray(coefficients.inv_denominator, dtype=np.float64)),
            cupy.asarray(np.ascontiguousarray(coefficients.upper, dtype=np.float64)),
        )
    return cached[1], cached[2]


def diffuse(field, axes_coefficients):
    """One implicit LOD step, in place (returns field), as diffuse_numpy: a sweep per axis whose
    coefficients are not None, in axis order, one thread per line."""
    _require(field, cupy.float32, "field")
    for axis, coefficients in enumerate(axes_coefficients):
        if coefficients is None:
            continue
        if axis >= field.ndim:
            raise ValueError(f"coefficients for axis {axis} of a {field.ndim}-D field")
        n = field.shape[axis]
        if field.size == 0:
            continue
        inv_denominator, upper = _device_coefficients(coefficients)
        if inv_denominator.shape[0] < n or upper.shape[0] < n:
            raise ValueError(f"axis {axis} has length {n} but its coefficients have "
                             f"{inv_denominator.shape[0]}")
        inner = int(np.prod(field.shape[axis + 1:], dtype=np.int64))
        n_lines = field.size // n
        _launch("diffusion.cu", "diffuse_axis", n_lines, (
            field, np.int64(n_lines), np.int64(n), np.int64(inner), inv_denominator, upper,
            _float64_scalar(coefficients.r, "r"),
            _float64_scalar(coefficients.boundary_inflow, "boundary_inflow")))
    return field


def _address(array) -> int:
    """Device address of an array's data (a NumPy array's own address in the host harness)."""
    data = array.data
    return int(data.ptr) if hasattr(data, "ptr") else int(array.ctypes.data)


_fields_cache: dict = {}


def diffuse_fields(fields, operators_axes):
    """One implicit LOD step of several fields of one shape, in place: per axis, one launch for
    all of them (diffuse_axis_fields), each line as diffuse() sweeps it. operators_axes: per
    field, its AxisCoefficients per axis (None for the same axes in every field)."""
    if not fields or fields[0].size == 0:
        return fields
    shape = fields[0].shape
    for field in fields:
        _require(field, cupy.float32, "field")
        if field.shape != shape:
            raise ValueError(f"fields of one launch must share a shape: {field.shape} and {shape}")
    for axis in range(len(shape)):
        per_field = [axes[axis] for axes in operators_axes]
        if per_field[0] is None:
            continue
        n = shape[axis]
        key = ("axis", axis, tuple(id(c) for c in per_field), cupy.cuda.runtime.getDevice())
        cached = _fields_cache.get(key)
        if cached is None or any(a is not b for a, b in zip(cached[0], per_field)):
            stride = max(c.inv_denominator.shape[0] for c in per_field)
            inv = np.zeros((len(per_field), stride))
            upper = np.zeros((len(per_field), stride))
            for f, c in enumerate(per_field):
                inv[f, : c.inv_denominator.shape[0]] = c.inv_denominator
                upper[f, : c.upper.shape[0]] = c.upper
            cached = _fields_cache[key] = (
                per_field, cupy.asarray(inv.ravel()), cupy.asarray(upper.ravel()), np.int64(stride),
                cupy.asarray(np.array([c.r for c in per_field], dtype=np.float64)),
                cupy.asarray(np.array([c.boundary_inflow for c in per_field], dtype=np.float64)))
        _, inv, upper, stride, r, inflow = cached
        if stride < n:
            raise ValueError(f"axis {axis} has length {n} but its coefficients have {stride}")
        addresses = _field_addresses(fields)
        inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
        n_lines = fields[0].size // n
        _launch("diffusion.cu", "diffuse_axis_fields", n_lines * len(fields), (
            addresses, np.int64(len(fields)), np.int64(n_lines), np.int64(n), np.int64(inner), inv, upper, stride,
            r, inflow))
    return fields


def _field_addresses(fields):
    """The fields' addresses on the device, uploaded once while the fields stay the same arrays."""
    key = ("addresses", tuple(_address(f) for f in fields))
    if key not in _fields_cache:
        if len(_fields_cache) > 256:  # fields reallocated many times (runs one after another)
            _fields_cache.clear()
        _fields_cache[key] = cupy.asarray(np.array(key[1], dtype=np.uint64))
    return _fields_cache[key]
