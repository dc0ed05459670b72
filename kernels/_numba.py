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
import types
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


_JITABLE: set = set()  # ids of the functions made jitable (their own source)
_GPU_TWINS: dict = {}  # id(function) -> its GPU twin


def jitable(function):
    """A scalar function (a rule, a helper) compiled into whichever kernel calls it, from its one source.

    On the CPU numba inlines it into the calling kernel's IR: called instead, each call from a
    kernel's loop passes the arrays it reads with a reference count taken and dropped (atomic
    operations, per cell) and returns tuples through memory; inlined, the NK cells' decide kernel
    ran 3-4x faster. GPU kernels call its twin (`for_gpu`) as a device function, which NVVM inlines:
    once numba has inlined a function on the CPU, numba-cuda can no longer type calls to it in the
    same process (typing fails on its loop variables), so the GPU never calls the same function.
    Plain Python where numba is absent or off.
    """
    if not AVAILABLE:
        return function
    from numba.extending import overload, register_jitable

    register_jitable(function)
    overload(function, target="cpu", inline="always", strict=False)(lambda *args, **kwargs: function)
    _JITABLE.add(id(function))
    return function


def for_gpu(function):
    """The function a GPU kernel calls for `function`: for a jitable one, a twin of the same code whose
    globals name the GPU twins of the jitable functions it calls (made on first use, once); any
    other function as it is."""
    if not AVAILABLE or id(function) not in _JITABLE:
        return function
    twin = _GPU_TWINS.get(id(function))
    if twin is None:
        from numba.extending import register_jitable

        scope: dict = {}
        twin = types.FunctionType(function.__code__, scope, function.__name__, function.__defaults__,
                                  function.__closure__)
        _GPU_TWINS[id(function)] = register_jitable(twin)  # before its globals: recursion ends here
        scope.update({name: for_gpu(value) if callable(value) else value
                      for name, value in function.__globals__.items()})
    return twin


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

