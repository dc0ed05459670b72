"""kernels/_numba.jitable: one source per scalar function, compiled into the CPU kernels that call it
without reference counting, and into the CUDA kernels, in the same process."""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba", reason="numba (extra `fast`) is not installed")

from abm.kernels import _numba  # noqa: E402

if not _numba.enabled():  # pragma: no cover - ABM_NUMBA=0
    pytest.skip("numba switched off (ABM_NUMBA=0)", allow_module_level=True)

from numba import njit  # noqa: E402

from abm import TissueModel  # noqa: E402
from abm.engine import scalar, targets  # noqa: E402
from abm.kernels._numba import jitable  # noqa: E402

LIVER = str(Path(__file__).resolve().parents[1] / "configs" / "correia2021_liver.yaml")


@jitable
def _count_up(a):
    for i in range(3):
        if i > 0:
            a += np.uint64(1)
    return a


@jitable
def _sum_of(values, k):
    return values[k] + _count_up(np.uint64(values[k]))


def test_the_rules_kernels_take_no_reference_counts():
    """The NK cells' decide kernel passes arrays to its rules and helpers for every cell: its machine
    code takes and drops no reference count on them (an atomic operation per array, call and cell)."""
    model = TissueModel(LIVER, device="cpu", arm="stellate_activation", overrides={"lattice.shape": [24, 24]})
    model.run(1)
    model.intervene()
    context = model.sense()
    compiled = model.schedule.types["nk"].compiled
    serial, _ = targets._in_memory(compiled.programs["decide"])  # not from the disk cache: inspectable
    serial(*compiled.arguments(context, "decide"))
    machine_code = serial.inspect_asm(serial.signatures[0])
    assert "contact_kill" in machine_code  # the rules are there (called, or inlined by LLVM)
    assert "NRT_incref" not in machine_code and "NRT_decref" not in machine_code


def test_a_jitable_function_gives_the_interpreted_bits():
    @njit(_nrt=False)
    def kernel(values, out):
        for k in range(values.shape[0]):
            out[k] = _sum_of(values, k) + scalar.philox(np.uint64(1), np.uint64(2), np.uint64(3), 4, k)[0]

    values, out = np.arange(5, dtype=np.uint64), np.zeros(5, dtype=np.uint64)
    kernel(values, out)
    assert [int(v) for v in out] == [int(_sum_of(values, k) + scalar.philox(1, 2, 3, 4, k)[0]) for k in range(5)]


def test_a_function_compiled_for_the_cpu_also_compiles_for_the_gpu():
    from abm.testing import cuda_compile

    why_not = cuda_compile.available()
    if why_not:
        pytest.skip(why_not)

    @njit
    def on_cpu(x):
        return _sum_of(x, 0)

    assert on_cpu(np.array([4], dtype=np.uint64)) == 10

    def kernel(values, out):
        out[0] = _sum_of(values, 0)

    code = cuda_compile.ptx_of_function(kernel, (np.zeros(1, np.uint64), np.zeros(1, np.uint64)))
    assert ".entry" in code
