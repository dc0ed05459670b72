"""CuPy launchers of kernels/fused_minimal*.cu: the minimal rule set's fused step on a GPU.

Used by abm/fused_gpu.py (which explains the step); imported only when CuPy arrays are in use,
so CuPy is imported at module level, as in kernels/_cuda.py. tests/cuda_host.py loads this
module against a NumPy stand-in for CuPy whose RawModule compiles with g++, so the launchers
run on the CPU in the tests too.

Conventions of _cuda.py: one thread per item (BLOCK = 256), kernels return past n; scalars are
NumPy scalars of the exact C type (CuPy passes a Python int as 8 bytes); RawModule with
--fmad=false keeps every a*b+c two roundings, as numba computes it. Arrays are passed as they
are (the step owns them and allocates them with the kernels' dtypes; the host harness checks
every pointer's dtype). Only device work is queued here: nothing reads a device value.

`columns` is a dict of the agents' full columns (capacity, not just [:n]) under the names of
abm/state.py AGENT_COLUMNS; COLUMNS is the order the kernels take them in.
"""
from __future__ import annotations

import functools
import os
import re

import cupy
import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = "fused_minimal_resolve.cu"  # includes fused_minimal.cu, which includes philox.cu
NVCC_OPTIONS = ("--fmad=false",)
_RAWMODULE_OPTIONS = NVCC_OPTIONS + ("-std=c++17",)
BLOCK = 256
CELLS_PER_THREAD = 32  # fm_finish loops over this many slots per thread: fewer histogram atomics
MAX_BINS = 32  # as fused_minimal.cu: bins of the per-thread histogram
# Layout of the uint64 stats array (fused_minimal.cu STAT_*), the histogram after these.
STATS = ("kills", "kills_single", "kills_clustered", "moves", "contacts_single", "contacts_clustered",
         "births", "deaths")
COLUMNS = ("id", "cell_type", "state", "site", "state_age_min", "cycle_clock_min", "clone", "partner",
           "partner_site", "heading", "mesenchymal", "vcam1", "plxnb2", "division_boost",
           "activating_ligand_left",
           "inhibitory_receptors", "kills")
_WORD = 0xFFFFFFFF
_INCLUDE = re.compile(r'\s*#include\s+"(\w+\.cu)"')


def source(name=SOURCE, included=None) -> str:
    """The text of kernels/<name> with every `#include "file.cu"` replaced by that file's text,
    spliced the same way, each file once (NVRTC has no file system; nvcc, compiling a file
    itself, resolves the #include next to it)."""
    included = set() if included is None else included
    included.add(name)
    with open(os.path.join(_HERE, name)) as file:
        lines = file.read().split("\n")
    for k, line in enumerate(lines):
        match = _INCLUDE.match(line)
        if match:
            lines[k] = "" if match[1] in included else source(match[1], included)
    return "\n".join(lines)


@functools.lru_cache(maxsize=None)
def _module():
    return cupy.RawModule(code=source(), options=_RAWMODULE_OPTIONS)


@functools.lru_cache(maxsize=None)
def _kernel(kernel_name):
    return _module().get_function(kernel_name)


def _launch(kernel_name, n_threads, args):
    grid = (int(n_threads) + BLOCK - 1) // BLOCK
    _kernel(kernel_name)((grid,), (BLOCK,), args)


def _draw(seed, step):
    """(seed low, seed high, step) as the uint32 words of the Philox counter and key."""
    seed, step = int(seed), int(step)
    return np.uint32(seed & _WORD), np.uint32((seed >> 32) & _WORD), np.uint32(step & _WORD)


def _columns(columns, names=COLUMNS):
    return tuple(columns[name] for name in names)


def categorise(columns, n, grid):
    """grid[site] = what neighbours see of each cell; grid must be all -1 (see fill)."""
    if n:
        _launch("fm_categorise", n, (np.int64(n), columns["cell_type"], columns["state"],
                                     columns["mesenchymal"], columns["site"], grid))


def decide(seed, step, n, columns, grid, occupancy, shape, offsets, tumor_params, nk_params, work, scratch,
           stats):
    """Proposals of slots [0, n) into work; NK cells' own updates; contacts tallied; kills claimed.

    shape: (nx, ny, nz) ints; offsets: (n_offsets, 3) int64 device array; tumor_params,
    nk_params: float64 device arrays as FusedMinimalStep's; work: proposal, target, kill_site,
    contact, stopped (device arrays of at least n)."""
    nx, ny, nz = (np.int64(s) for s in shape)
    c = columns
    _launch("fm_decide", n, (
        np.int64(n), *_draw(seed, step), c["id"], c["cell_type"], c["state"], c["site"], c["partner"],
        c["partner_site"], c["inhibitory_receptors"], c["state_age_min"], grid, occupancy, nx, ny, nz, offsets,
        np.int32(offsets.shape[0]), tumor_params, nk_params, work.proposal, work.target, work.kill_site,
        work.contact, work.stopped, scratch, stats))


def resolve(seed, step, n, columns, occupancy, grid, work, scratch, stats):
    """Kills, then the claims of moves and divisions and their winners (three kernels)."""
    c, draw = columns, _draw(seed, step)
    count = np.int64(n)
    _launch("fm_apply_kills", n, (
        count, *draw, c["id"], c["state"], c["site"], c["state_age_min"], c["partner"], c["kills"], occupancy, grid,
        work.proposal, work.kill_site, work.contact, work.stopped, scratch, stats))
    _launch("fm_claim_sites", n, (
        count, *draw, c["id"], work.proposal, work.target, work.kill_site, work.stopped, scratch))
    _launch("fm_move_and_divide", n, (
        count, *draw, c["id"], c["site"], c["cycle_clock_min"], occupancy, grid, work.proposal, work.target,
        work.stopped, scratch, work.born, stats))


def finish(n, next_id, dt, caspase_duration, max_states, n_bins, columns, occupancy, grid, scratch, work, stats):
    """Daughters (ranked by a device scan of work.born), removal, ageing and counting.

    The columns must have room for 2n slots (n mothers at most divide)."""
    if n_bins > MAX_BINS:
        raise ValueError(f"{n_bins} histogram bins, fused_minimal.cu counts at most {MAX_BINS}")
    rank_end = cupy.cumsum(work.born[:n], dtype=cupy.int64)  # inclusive: daughter rank + 1 where born
    _launch("fm_finish", (n + CELLS_PER_THREAD - 1) // CELLS_PER_THREAD, (
        np.int64(n), np.int64(next_id), np.float32(dt), np.float32(caspase_duration), np.int32(max_states),
        np.int32(n_bins), *_columns(columns), occupancy, grid, scratch, work.proposal, work.target, work.born,
        rank_end, stats))


def compact(n, columns, spare, occupancy):
    """Slots [0, n) without their holes into the spare columns (same order); sites reindexed.
    Afterwards the spare columns hold the cells: the caller swaps them in."""
    kept = columns["cell_type"][:n] != np.int8(-1)
    rank_end = cupy.cumsum(kept, dtype=cupy.int64)
    rest = tuple(name for name in COLUMNS if name != "cell_type")
    _launch("fm_compact", n, (np.int64(n), columns["cell_type"], rank_end, *_columns(columns, rest),
                              *_columns(spare, ("id", "cell_type") + rest[1:]), occupancy))
