"""abm/engine/scalar.py's neighbour helpers against their plain definitions: the k-th set bit of
a mask, and the flat site at a neighbour offset, compiled (numba) and uncompiled."""
import numpy as np
import pytest

from abm.engine import scalar

numba = pytest.importorskip("numba", reason="numba (extra `fast`) is not installed")


def _kth_set_bit(mask: int, word: int, n_offsets: int) -> int:
    """The definition: walk the bits in order, return the (word mod popcount)-th set one."""
    bits = [j for j in range(32) if (mask >> j) & 1]
    if not bits:
        return -1
    j = bits[word % len(bits)]
    return j if j < min(n_offsets, 32) else -1


def _masks_and_words(count=3000):
    rng = np.random.default_rng(7)
    masks = np.concatenate([rng.integers(0, 2**32, count, dtype=np.uint64),
                            rng.integers(0, 2**26, count, dtype=np.uint64),
                            1 << rng.integers(0, 32, 64, dtype=np.uint64),
                            [0, 1, 2**31, 2**32 - 1, 2**26 - 1]]).astype(np.uint32)
    return masks, rng.integers(0, 2**32, masks.size, dtype=np.uint64)


@numba.njit
def _pick_all(masks, words, n_offsets):
    out = np.empty(masks.size, np.int64)
    for i in range(masks.size):
        out[i] = scalar.pick_from_mask(masks[i], words[i], n_offsets)
    return out


@pytest.mark.parametrize("n_offsets", [4, 8, 26, 32])
def test_pick_from_mask_is_the_kth_set_bit(n_offsets):
    masks, words = _masks_and_words()
    want = np.array([_kth_set_bit(int(m), int(w), n_offsets) for m, w in zip(masks, words)])
    assert np.array_equal(_pick_all(masks, words, n_offsets), want)
    uncompiled = getattr(scalar.pick_from_mask, "py_func", scalar.pick_from_mask)
    with np.errstate(all="raise"):  # no wrap-around in NumPy's scalars either
        got = [uncompiled(m, w, n_offsets) for m, w in zip(masks[:500], words[:500])]
    assert got == list(want[:500])


def test_popcount_counts_every_bit():
    masks, _ = _masks_and_words(500)
    uncompiled = getattr(scalar.popcount, "py_func", scalar.popcount)
    assert [uncompiled(m) for m in masks] == [bin(int(m)).count("1") for m in masks]


@pytest.mark.parametrize("shape", [(9, 7, 5), (12, 10, 1)])
def test_site_at_offset_moves_by_the_offset(shape):
    nx, ny, nz = shape
    offsets = np.array([[dx, dy, dz] for dx in (-1, 0, 1) for dy in (-1, 0, 1) for dz in ((-1, 0, 1) if nz > 1 else (0,))
                        if (dx, dy, dz) != (0, 0, 0)], dtype=np.int64)
    for x, y, z in [(1, 1, min(1, nz - 1)), (nx - 2, ny - 2, max(nz - 2, 0)), (4, 3, nz // 2)]:
        site = (x * ny + y) * nz + z
        for j, (dx, dy, dz) in enumerate(offsets):
            assert scalar.site_at_offset(site, j, ny, nz, offsets) == ((x + dx) * ny + y + dy) * nz + z + dz
        assert scalar.site_at_offset(site, -1, ny, nz, offsets) == scalar.site_at_offset(site, 0, ny, nz, offsets)
