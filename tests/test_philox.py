"""The one Philox of the model (kernels/philox_numba.philox_block, called by the rules through
abm.engine.scalar.philox): published known answers, compiled and run by the interpreter alike;
streams per seed, step and purpose; thresholds."""
import numpy as np
import pytest
from numba import njit

from abm.engine.scalar import happens, philox
from abm.kernels.philox import probability_threshold, rate_threshold
from abm.kernels.philox_numba import philox_block

# Random123 tests/kat_vectors: counter (4 words), key (2 words) -> output (4 words).
KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@njit
def _block_compiled(c0, c1, c2, c3, k0, k1):
    return philox_block(c0, c1, c2, c3, k0, k1)


@njit
def _philox_compiled(seed_lo, seed_hi, step, purpose, cell_id):
    return philox(seed_lo, seed_hi, step, purpose, cell_id)


@njit
def _words(seed_lo, seed_hi, step, purpose, ids):
    """(4, n) uint32: the words of each id, as the rules draw them."""
    out = np.empty((4, ids.shape[0]), dtype=np.uint32)
    for i in range(ids.shape[0]):
        w = philox(seed_lo, seed_hi, step, purpose, ids[i])
        for k in range(4):
            out[k, i] = np.uint32(w[k])
    return out


@njit
def _frequency(seed_lo, seed_hi, step, purpose, n, threshold):
    hits = 0
    for i in range(n):
        if happens(philox(seed_lo, seed_hi, step, purpose, np.int64(i))[0], threshold):
            hits += 1
    return hits / n


def _words_of(seed, step, purpose, ids):
    return _words(np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32), np.uint64(step), np.uint64(purpose),
                  np.asarray(ids, dtype=np.int64))


def _as_ints(words):
    return tuple(int(w) for w in words)


@pytest.mark.parametrize("counter, key, expected", KNOWN_ANSWERS)
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "interpreted"])
def test_known_answers(counter, key, expected, compiled):
    block = _block_compiled if compiled else philox_block  # register_jitable: the plain function
    args = [np.uint64(word) for word in counter + key]
    assert _as_ints(block(*args)) == expected


@pytest.mark.parametrize("counter, key, expected", KNOWN_ANSWERS)
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "interpreted"])
def test_known_answers_through_the_rules_draw(counter, key, expected, compiled):
    """scalar.philox: counter (id low, id high, step, purpose), key (seed low, seed high)."""
    draw = _philox_compiled if compiled else philox
    cell_id = np.uint64(counter[0] | (counter[1] << 32))
    words = draw(np.uint64(key[0]), np.uint64(key[1]), np.uint64(counter[2]), np.uint64(counter[3]), cell_id)
    assert _as_ints(words) == expected


def test_the_compiled_draw_gives_the_bits_of_the_interpreted_one():
    rng = np.random.default_rng(0)
    for _ in range(200):
        seed_lo, seed_hi, step, purpose = (np.uint64(v) for v in rng.integers(0, 2**32, size=4, dtype=np.uint64))
        cell_id = np.int64(rng.integers(0, 2**40))
        assert _as_ints(_philox_compiled(seed_lo, seed_hi, step, purpose, cell_id)) == \
            _as_ints(philox(seed_lo, seed_hi, step, purpose, cell_id))


def test_seed_step_and_purpose_each_change_the_stream():
    ids = np.arange(100) + 2**33  # ids above 2**32 exercise the high word
    base = _words_of(1, 1, 1, ids)
    for other in (_words_of(2, 1, 1, ids), _words_of(1, 2, 1, ids), _words_of(1, 1, 2, ids),
                  _words_of(1 + 2**32, 1, 1, ids)):
        assert np.mean(base == other) < 0.01


def test_words_are_uniform():
    words = _words_of(9, 0, 0, np.arange(200_000)).ravel()
    histogram = np.bincount((words >> np.uint32(28)).astype(np.int64), minlength=16)
    expected = len(words) / 16
    chi2 = float(((histogram - expected) ** 2 / expected).sum())
    assert chi2 < 50  # 15 degrees of freedom: p ~ 1e-5


def test_thresholds_turn_rates_into_the_right_frequency():
    assert probability_threshold(0.0) == 0 and probability_threshold(1.0) == 2**32
    n, p = 400_000, 1 - np.exp(-0.05 * 6.0)
    seed = (np.uint64(4), np.uint64(0), np.uint64(0), np.uint64(0))
    frequency = _frequency(*seed, n, rate_threshold(0.05, 6.0))
    assert abs(frequency - p) < 4 * np.sqrt(p * (1 - p) / n)
    assert _frequency(*seed, 1000, 2**32) == 1.0 and _frequency(*seed, 1000, 0) == 0.0
