"""numba twins of the NumPy reference kernels (the neighbour scan here): identical results, whatever
the thread count.

(The diffusion twin has its own file, tests/test_diffusion_numba.py.)
"""
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("numba")

from abm.kernels import neighbours, neighbours_numba  # noqa: E402
from abm.kernels import _numba  # noqa: E402


def test_numba_is_used_when_installed():
    assert _numba.enabled()
    assert "numba" in _numba.describe()


@pytest.mark.parametrize("shape, kind", [((37, 41), "moore"), ((13, 11, 9), "moore"),
                                         ((20, 20), "von_neumann"), ((9, 8, 7), "von_neumann")])
def test_neighbour_scan_twin_equals_the_reference(shape, kind):
    rng = np.random.default_rng(0)
    n_sites = int(np.prod(shape))
    occupancy = np.full(n_sites, -1, np.int32)
    sites = rng.choice(n_sites, n_sites // 3, replace=False).astype(np.int64)
    occupancy[sites] = np.arange(len(sites), dtype=np.int32)
    category = rng.integers(0, 10, len(sites)).astype(np.int8)
    offsets = neighbours.neighbour_offsets(len(shape), kind)
    expected = neighbours.scan_neighbours_numpy(occupancy, category, sites, shape, offsets, 10)
    got = neighbours_numba.scan_neighbours(occupancy, category, sites, neighbours.shape3(shape), offsets, 10)
    dispatched = neighbours.scan_neighbours(occupancy, category, sites, shape, offsets, 10)
    for a, b, c in zip(expected, got, dispatched):
        assert a.dtype == b.dtype == c.dtype and np.array_equal(a, b) and np.array_equal(a, c)


@pytest.mark.parametrize("shape", [(23, 19), (11, 10, 9)])
def test_neighbour_scan_twin_of_some_agents_and_of_uncategorised_ones(shape):
    """The twin paints the agents' types onto a byte lattice: from the scanned sites when they are
    every slot's site, else from the occupancy. Both ways, and a slot of no category (-1, counted as
    an empty site as NumPy's index -1 does), give the reference's rows."""
    rng = np.random.default_rng(1)
    n_sites = int(np.prod(shape))
    occupancy = np.full(n_sites, -1, np.int32)
    sites = rng.choice(n_sites, n_sites // 2, replace=False).astype(np.int64)
    occupancy[sites] = np.arange(len(sites), dtype=np.int32)
    category = rng.integers(-1, 6, len(sites)).astype(np.int8)
    offsets = neighbours.neighbour_offsets(len(shape), "moore")
    for scanned in (sites, sites[::3], sites[::-1]):
        expected = neighbours.scan_neighbours_numpy(occupancy, category, scanned, shape, offsets, 6)
        got = neighbours_numba.scan_neighbours(occupancy, category, scanned, neighbours.shape3(shape), offsets, 6)
        assert all(np.array_equal(a, b) for a, b in zip(expected, got))


_RUN = """
import numpy as np, sys
from abm import TissueModel
m = TissueModel("configs/minimal_rules.yaml", device="cpu", seed=3,
                overrides={"lattice.shape": [400, 400], "time.duration_h": 1e6})
m.run(5)
t = m.agents_table()
sys.stdout.write(str(hash(b"".join(np.ascontiguousarray(t[k]).tobytes() for k in sorted(t)))))
"""


def test_results_do_not_depend_on_the_number_of_threads():
    """35,000 cells: enough that the parallel loops really use both threads."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digests = []
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads, "PYTHONHASHSEED": "0"}
        done = subprocess.run([sys.executable, "-c", _RUN], capture_output=True, text=True, cwd=root, env=env,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        digests.append(done.stdout)
    assert digests[0] == digests[1]
