"""The numba diffusion sweep (kernels/diffusion_numba.py) against its NumPy reference:
bit-identical fields, dispatch, and independence of the number of threads."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("numba", reason="numba (extra `fast`) is not installed")

from abm.kernels import _numba, diffusion  # noqa: E402

if not _numba.enabled():  # pragma: no cover - ABM_NUMBA=0
    pytest.skip("numba switched off (ABM_NUMBA=0)", allow_module_level=True)

from abm.kernels import diffusion_numba  # noqa: E402


def random_field(shape, seed=0):
    return (np.random.default_rng(seed).random(shape) * 10).astype(np.float32)


def assert_bit_identical(mine, want):
    assert mine.dtype == want.dtype == np.float32
    assert mine.shape == want.shape
    assert mine.tobytes() == want.tobytes(), f"max |diff| {np.abs(mine - want).max()}"


SHAPES = [(7, 5), (64, 33), (1, 17), (19, 1), (13, 11, 9), (16, 1, 21), (1, 9, 8), (30, 29, 31),
          (5, 3, 700), (3, 1100, 2)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("boundary", ["no_flux", "fixed"])
def test_bit_identical_to_the_numpy_reference(shape, boundary):
    operator = diffusion.DiffusionOperator(shape, 10.0, 0.7, 100.0, 0.05, boundary=boundary,
                                           boundary_value=3.25)
    assert [a is None for a in operator.axes] == [n == 1 for n in shape]
    mine, want = random_field(shape), random_field(shape)
    for _ in range(4):
        assert diffusion_numba.diffuse(mine, operator.axes) is mine
        diffusion.diffuse_numpy(want, operator.axes)
        assert_bit_identical(mine, want)


@pytest.mark.parametrize("shape", [(40, 31), (13, 11, 9), (16, 1, 21), (64, 64, 64)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("boundary", ["no_flux", "fixed"])
@pytest.mark.parametrize("value", [0.0828, 3.0, 1e-30])
def test_a_uniform_field_solved_as_one_line_per_axis_gives_the_same_bits(shape, boundary, value):
    """diffuse_uniform (a field produced everywhere, taken up nowhere): the same bits as the sweeps,
    step after step, while it stays uniform (no-flux walls) and once the walls make it vary (fixed)."""
    operator = diffusion.DiffusionOperator(shape, 10.0, 0.7, 100.0, 0.05, boundary=boundary,
                                           boundary_value=0.5)
    mine, want = np.full(shape, value, np.float32), np.full(shape, value, np.float32)
    took = []
    for _ in range(3):
        took.append(diffusion_numba.uniform(mine))
        assert diffusion.diffuse(mine, operator.axes) is mine
        diffusion.diffuse_numpy(want, operator.axes)
        assert_bit_identical(mine, want)
    assert took[0] and (boundary == "no_flux" or not took[1])  # fixed walls: varies after one step
    line = np.full(shape, value, np.float32)
    assert_bit_identical(diffusion.diffuse_uniform(line, operator.axes), diffusion.diffuse_numpy(
        np.full(shape, value, np.float32), operator.axes))


def test_uniform_is_false_for_one_differing_value():
    field = np.full((9, 8, 7), 2.5, np.float32)
    assert diffusion_numba.uniform(field)
    field[8, 7, 6] = np.nextafter(np.float32(2.5), np.float32(3))
    assert not diffusion_numba.uniform(field)
    assert not diffusion_numba.uniform(np.zeros(0, np.float32))


@pytest.mark.parametrize("size", [1, 5, 1024, 1025, 5000])
def test_sameness_tells_zero_uniform_and_varied_at_any_position(size):
    """One pass over blocks of 1,024: a differing word in any block, the last included, is found;
    -0.0 is not +0.0 (its bits differ)."""
    zeros = np.zeros(size, np.float32)
    assert diffusion_numba.sameness(zeros) == diffusion_numba.ZERO
    assert diffusion_numba.sameness(np.full(size, -0.0, np.float32)) == diffusion_numba.UNIFORM
    assert diffusion_numba.sameness(np.full(size, 2.5, np.float32)) == diffusion_numba.UNIFORM
    for where in sorted({0, size // 2, size - 1}):
        field = zeros.copy()
        field[where] = np.float32(1e-45)
        assert diffusion_numba.sameness(field) == (diffusion_numba.VARIED if size > 1 else diffusion_numba.UNIFORM)


@pytest.mark.parametrize("boundary", ["no_flux", "fixed"])
def test_single_sweeps_and_large_time_steps(boundary):
    """Each axis on its own, r >> 1 (dt far above the explicit limit), strong decay."""
    shape = (23, 40, 37)
    operator = diffusion.DiffusionOperator(shape, 5.0, 30.0, 250.0, 0.2, boundary=boundary,
                                           boundary_value=0.125)
    for axis in range(3):
        mine, want = random_field(shape, axis), random_field(shape, axis)
        diffusion_numba.solve_axis(mine, axis, operator.axes[axis])
        diffusion.solve_axis_numpy(want, axis, operator.axes[axis])
        assert_bit_identical(mine, want)


def test_a_point_source_over_many_steps():
    shape = (21, 22, 23)
    operator = diffusion.DiffusionOperator(shape, 10.0, 1.0, 100.0, 0.01)
    mine = np.zeros(shape, dtype=np.float32)
    mine[10, 11, 12] = 1000.0
    want = mine.copy()
    for _ in range(25):
        diffusion_numba.diffuse(mine, operator.axes)
        diffusion.diffuse_numpy(want, operator.axes)
    assert_bit_identical(mine, want)


def test_dispatch_uses_numba_for_contiguous_float32(monkeypatch):
    calls = []
    monkeypatch.setattr(diffusion_numba, "diffuse", lambda field, axes: calls.append(field) or field)
    operator = diffusion.DiffusionOperator((8, 9), 10.0, 0.1, 100.0, 0.0)
    field = random_field((8, 9))
    assert diffusion.diffuse(field, operator.axes) is field
    assert calls == [field]
    # not C-contiguous, or not float32: the NumPy reference
    diffusion.diffuse(random_field((9, 8)).T, operator.axes)
    diffusion.diffuse(random_field((8, 9)).astype(np.float64), operator.axes)
    assert len(calls) == 1


def test_dispatch_result_matches_the_reference():
    operator = diffusion.DiffusionOperator((12, 10, 14), 10.0, 0.5, 100.0, 0.02, boundary="fixed",
                                           boundary_value=1.0)
    mine, want = random_field((12, 10, 14)), random_field((12, 10, 14))
    operator.step(mine)
    diffusion.diffuse_numpy(want, operator.axes)
    assert_bit_identical(mine, want)


def test_rejects_fields_it_cannot_sweep():
    operator = diffusion.DiffusionOperator((8, 9), 10.0, 0.1, 100.0, 0.0)
    with pytest.raises(ValueError):
        diffusion_numba.diffuse(np.zeros((8, 9)), operator.axes)
    with pytest.raises(ValueError):
        diffusion_numba.diffuse(np.zeros((9, 8), dtype=np.float32).T, operator.axes)


SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from abm.kernels import diffusion, diffusion_numba
    shape = (37, 45, 41)
    operator = diffusion.DiffusionOperator(shape, 10.0, 0.5, 100.0, 0.01, boundary="fixed",
                                           boundary_value=2.0)
    field = (np.random.default_rng(5).random(shape) * 10).astype(np.float32)
    field[::2, 0, :] = 0
    for _ in range(3):
        diffusion_numba.diffuse(field, operator.axes)
    sys.stdout.buffer.write(field.tobytes())
""")


def test_independent_of_the_number_of_threads(tmp_path):
    outputs = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads, ABM_NUMBA="1")
        result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, env=env,
                                cwd=tmp_path, timeout=300, check=False)
        assert result.returncode == 0, result.stderr.decode()
        outputs.append(result.stdout)
    assert len(outputs[0]) == 37 * 45 * 41 * 4
    assert outputs[0] == outputs[1]
