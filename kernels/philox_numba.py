"""Philox4x32-10 (Salmon et al., SC'11) as one scalar function compiled into the kernels: the one Philox
of the model.

`philox_block` is `jitable` (kernels/_numba.py): the per-cell rules call it through abm.engine.scalar.philox
and it is compiled with them for the GPU (numba-cuda); with JIT off it runs as plain Python. On the
CPU the same source is traced into LLVM IR (`trace`): its operators, applied to IR values, write the
ten rounds straight into the calling kernel, where LLVM overlaps them with the cell's other work
(a draw as a called function took 17 ns, written into the kernel 2.5 ns; numba's own inlining gave
the same speed but compiled 6x slower). Integer arithmetic only, so every target gives the same
words. Checked against Random123's published known-answer vectors (tests/test_philox.py).
"""
from __future__ import annotations

import numpy as np
from ._numba import jitable

from .philox_constants import PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1, ROUNDS


@jitable
def philox_block(c0, c1, c2, c3, k0, k1):
    """The 10-round bijection on four uint32 words carried in uint64 (counter c0..c3, key k0, k1):
    the one Philox of the compiled code, inlined into the per-cell rules (abm/engine/scalar.py)."""
    low, shift = np.uint64(0xFFFFFFFF), np.uint64(32)
    m0, m1 = np.uint64(PHILOX_M0), np.uint64(PHILOX_M1)
    w0, w1 = np.uint64(PHILOX_W0), np.uint64(PHILOX_W1)
    for round_index in range(ROUNDS):
        if round_index > 0:
            k0 = (k0 + w0) & low
            k1 = (k1 + w1) & low
        p0 = c0 * m0
        p2 = c2 * m1
        c0, c1, c2, c3 = (p2 >> shift) ^ c1 ^ k0, p2 & low, (p0 >> shift) ^ c3 ^ k1, p0 & low
    return c0, c1, c2, c3


class Traced:
    """A uint64 value in LLVM IR: +, *, &, ^, >> on it (with another, or with a constant) emit the
    instruction, so calling a function of such operators on Traced values writes its IR."""

    __slots__ = ("builder", "value")
    __array_ufunc__ = None  # a NumPy scalar on the left defers to the reflected operator below

    def __init__(self, builder, value):
        self.builder, self.value = builder, value

    def _ir(self, other):
        if isinstance(other, Traced):
            return other.value
        from llvmlite import ir
        return ir.Constant(ir.IntType(64), int(other))

    def _emit(self, instruction, left, right):
        return Traced(self.builder, getattr(self.builder, instruction)(self._ir(left), self._ir(right)))

    def __add__(self, other):
        return self._emit("add", self, other)

    def __mul__(self, other):
        return self._emit("mul", self, other)

    def __and__(self, other):
        return self._emit("and_", self, other)

    def __xor__(self, other):
        return self._emit("xor", self, other)

    def __rshift__(self, other):
        return self._emit("lshr", self, other)

    def __rrshift__(self, other):
        return self._emit("lshr", other, self)

    __radd__, __rmul__, __rand__, __rxor__ = __add__, __mul__, __and__, __xor__


def trace(function, builder, *values) -> tuple:
    """The IR values `function` returns for the IR uint64 `values` (a tuple of Traced in, of IR out)."""
    return tuple(word.value for word in function(*(Traced(builder, value) for value in values)))
