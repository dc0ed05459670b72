"""kernels/_numba.jitable: one source per scalar function, inlined into the CPU kernels that call it,
and called through its GPU twin (for_gpu) by the CUDA kernels, in the same process."""
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
from abm.kernels._numba import for_gpu, jitable  # noqa: E402
from abm.rules import walk  # noqa: E402

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


def test_cpu_kernels_inline_the_rules_they_call():
    """The NK cells' decide kernel calls none of its rules or helpers in its machine code: inlined, its
    loop neither calls them nor takes reference counts of the arrays it passes them, per cell."""
    model = TissueModel(LIVER, device="cpu", arm="stellate_activation", overrides={"lattice.shape": [24, 24]})
    model.run(1)
    model.intervene()
    context = model.sense()
    compiled = model.schedule.types["nk"].compiled
    serial, _ = targets._in_memory(compiled.programs["decide"])  # not from the disk cache: inspectable
    arguments = compiled.arguments(context, "decide")
    serial(*arguments)
    machine_code = serial.inspect_asm(serial.signatures[0])  # a call loads its callee's (mangled) name
    for name in ("conjugation", "contact_kill", "patrol", "walk_step", "pick_from_mask", "site_at_offset",
                 "philox_block", "happens_with", "hill"):
        assert f"{len(name)}{name}B" not in machine_code, name


def test_a_jitable_function_gives_the_interpreted_bits():
    @njit
    def kernel(values, out):
        for k in range(values.shape[0]):
            out[k] = _sum_of(values, k) + scalar.philox(np.uint64(1), np.uint64(2), np.uint64(3), 4, k)[0]

    values, out = np.arange(5, dtype=np.uint64), np.zeros(5, dtype=np.uint64)
    kernel(values, out)
    assert [int(v) for v in out] == [int(_sum_of(values, k) + scalar.philox(1, 2, 3, 4, k)[0]) for k in range(5)]


def test_the_gpu_twin_calls_the_twins_of_what_it_calls():
    twin = for_gpu(walk.walk_step)
    assert twin is not walk.walk_step and twin is for_gpu(walk.walk_step)
    assert twin.__code__ is walk.walk_step.__code__  # the same source
    assert twin.__globals__["pick_from_mask"] is for_gpu(scalar.pick_from_mask)
    assert twin.__globals__["uphill_offset"] is for_gpu(walk.uphill_offset)
    assert for_gpu(np.float32) is np.float32  # not jitable: itself


def test_a_function_inlined_on_the_cpu_still_compiles_for_the_gpu():
    """numba-cuda cannot type a call to a function numba has inlined on the CPU in the same process;
    its twin compiles."""
    from abm.testing import cuda_compile

    why_not = cuda_compile.available()
    if why_not:
        pytest.skip(why_not)

    @njit
    def on_cpu(x):
        return _sum_of(x, 0)

    assert on_cpu(np.array([4], dtype=np.uint64)) == 10
    twin = for_gpu(_sum_of)

    def kernel(values, out):
        out[0] = twin(values, 0)

    code = cuda_compile.ptx_of_function(kernel, (np.zeros(1, np.uint64), np.zeros(1, np.uint64)))
    assert ".entry" in code
