"""Compiling a composed phase (compose.Program) for a target.

- "cpu": numba `njit(parallel=True)`, a `prange` loop over the type's cells; each iteration
  writes only its own cell's outputs, so the result does not depend on the thread count.
- "python": the same source run by the interpreter: the reference the compiled targets are
  tested against (also what NUMBA_DISABLE_JIT=1 gives).
- "cuda": numba-cuda, a grid-stride loop over the cells, called on CuPy arrays through
  `__cuda_array_interface__`; `fastmath` stays off, so no multiply-add is contracted and
  float32 arithmetic rounds as on the CPU.
- "cudasim": the same CUDA kernel run by numba-cuda's simulator (threads in Python): the GPU code
  path on the host (abm/testing `gpu_code_path_on_host`).
Compiled functions are kept per (source, target): configs with the same rules and grammar
share one compilation per process.
"""
from __future__ import annotations

import numpy as np

from . import scalar

LOOPS = {"cpu": "prange", "python": "range"}  # "cuda" and "cudasim": a grid-stride loop
_compiled: dict = {}


def _namespace(program, target: str) -> dict:
    namespace = {"np": np, "philox": scalar.philox, "as_threshold": scalar.as_threshold,
                 "hill": scalar.hill, "happens": scalar.happens, "happens_with": scalar.happens_with,
                 "range": range}
    namespace.update(program.namespace)
    if target == "cpu":
        from numba import prange
        namespace["prange"] = prange
    return namespace


def _source(program, target: str) -> str:
    if target in ("cuda", "cudasim"):
        return program.source.replace("for k in LOOP(slots.shape[0]):",
                                      "for k in range(cuda.grid(1), slots.shape[0], cuda.gridsize(1)):")
    return program.source.replace("LOOP(", f"{LOOPS[target]}(")


def kernel_function(program, target: str):
    """The program's loop as a Python function written for `target` (not yet compiled)."""
    namespace = _namespace(program, target)
    if target in ("cuda", "cudasim"):
        from numba import cuda
        namespace["cuda"] = cuda  # the simulator swaps in its own while a simulated kernel runs
    exec(compile(_source(program, target), f"<{program.phase} {program.type_name}>", "exec"), namespace)
    return namespace[program.function_name]


def compile_program(program, target: str):
    """The callable of a program on a target: f(slots, seed_lo, seed_hi, step, dt_min, p, *arrays, *outputs)."""
    key = (_source(program, target), target, tuple(sorted((k, id(v)) for k, v in program.namespace.items())))
    if key in _compiled:
        return _compiled[key]
    function = kernel_function(program, target)
    if target == "cpu":
        from numba import njit
        function = njit(parallel=True)(function)
    elif target == "cuda":
        from numba import cuda
        function = cuda.jit(function)
    elif target == "cudasim":
        from numba.cuda.simulator import api as simulator
        function = simulator.jit(function)
    _compiled[key] = function
    return function
