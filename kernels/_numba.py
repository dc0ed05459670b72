"""The optional compiled CPU path: numba, when installed (extra `fast`) and not switched off.

Every numba kernel is a twin of a NumPy reference in the same package and must give
bit-identical results (tests compare them); numba only removes the interpreter overhead and
the temporary arrays. `ABM_NUMBA=0` in the environment forces the NumPy references.
Parallel loops (prange) only ever write disjoint elements, so results do not depend on the
number of threads (NUMBA_NUM_THREADS).

Idle worker threads sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE, unless the environment sets
it): numba's OpenMP threads otherwise spin after each parallel loop, and a step launches several.
On 2 cores beside one other busy process, the liver at 64^3 took 27-39 ms of CPU time per step
with spinning threads and 11 ms without, and its wall time fell too (24-41 -> 16-19 ms per step).
"""
from __future__ import annotations

import os
from contextlib import contextmanager

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when the OpenMP runtime loads: before any parallel loop

try:  # pragma: no cover - depends on the environment
    if os.environ.get("ABM_NUMBA", "1") == "0":
        raise ImportError("switched off by ABM_NUMBA=0")
    import numba
    from numba import njit, prange

    AVAILABLE = True
    WHY_NOT = ""
except ImportError as error:  # pragma: no cover
    numba = None
    AVAILABLE = False
    WHY_NOT = str(error)

    def njit(*args, **kwargs):  # noqa: D401 - placeholder so modules import without numba
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda function: function

    prange = range


def jitable(function):
    """A scalar function (a rule, a helper) compiled into whichever kernel calls it, from its one source.

    Compiled without numba's reference counting (`_nrt=False`), as the kernels that call it are
    (abm/engine/targets.py): these functions only read and write arrays they are handed, never
    allocate one, and with counting on, each call from a kernel's loop took and dropped a count on
    every array it passed, atomically, per cell: the NK cells' decide kernel ran about 1.8x slower.
    (numba's IR inlining, inline="always", gave no more speed and compiled 4x slower.)
    Plain Python where numba is absent or off.
    """
    if not AVAILABLE:
        return function
    from numba.extending import register_jitable

    return register_jitable(_nrt=False)(function)


def enabled() -> bool:
    """True when the compiled CPU kernels are used (numba importable and not switched off)."""
    return AVAILABLE


def describe() -> str:
    if not AVAILABLE:
        return f"NumPy only ({WHY_NOT})"
    return f"numba {numba.__version__}, {numba.get_num_threads()} threads"


@contextmanager
def threads_for(n_items: int, items_per_thread: int = 16384):
    """Use fewer threads for small arrays: waking a thread pool costs more than the work.

    Results never depend on it (parallel loops write disjoint elements); only speed does.
    """
    if not AVAILABLE:
        yield
        return
    previous = numba.get_num_threads()
    wanted = max(1, min(previous, n_items // items_per_thread))
    if wanted == previous:
        yield
        return
    numba.set_num_threads(wanted)
    try:
        yield
    finally:
        numba.set_num_threads(previous)

