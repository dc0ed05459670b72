"""Counter-based generator: published known answers, independence from array order, thresholds."""
import numpy as np
import pytest

from abm.kernels.philox import draw_numpy, happens, philox4x32_10, probability_threshold, rate_threshold

# Random123 tests/kat_vectors: counter (4 words), key (2 words) -> output (4 words).
KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter, key, expected", KNOWN_ANSWERS)
def test_known_answers(counter, key, expected):
    out = philox4x32_10(*[np.array([c], dtype=np.uint32) for c in counter], key[0], key[1])
    assert tuple(int(word[0]) for word in out) == expected


def test_vectorised_equals_one_at_a_time():
    counters = np.random.default_rng(0).integers(0, 2**32, size=(4, 50), dtype=np.uint64).astype(np.uint32)
    batch = philox4x32_10(*counters, 7, 9)
    for i in range(50):
        single = philox4x32_10(*[c[i:i + 1] for c in counters], 7, 9)
        assert all(int(b[i]) == int(s[0]) for b, s in zip(batch, single))


def test_a_draw_depends_on_the_agent_not_on_its_position_in_the_array():
    ids = np.arange(1000, dtype=np.int64) * 7919 + 2**33  # ids above 2**32 exercise the high word
    words = draw_numpy(seed=123, step=5, purpose=2, ids=ids)
    permutation = np.random.default_rng(1).permutation(len(ids))
    permuted = draw_numpy(seed=123, step=5, purpose=2, ids=ids[permutation])
    assert np.array_equal(words[:, permutation], permuted)


def test_seed_step_and_purpose_each_change_the_stream():
    ids = np.arange(100)
    base = draw_numpy(1, 1, 1, ids)
    for other in (draw_numpy(2, 1, 1, ids), draw_numpy(1, 2, 1, ids), draw_numpy(1, 1, 2, ids),
                  draw_numpy(1 + 2**32, 1, 1, ids)):
        assert np.mean(base == other) < 0.01


def test_words_are_uniform():
    words = draw_numpy(9, 0, 0, np.arange(200_000)).ravel()
    histogram = np.bincount((words >> np.uint32(28)).astype(np.int64), minlength=16)
    expected = len(words) / 16
    chi2 = float(((histogram - expected) ** 2 / expected).sum())
    assert chi2 < 50  # 15 degrees of freedom: p ~ 1e-5


def test_thresholds_turn_rates_into_the_right_frequency():
    assert probability_threshold(0.0) == 0 and probability_threshold(1.0) == 2**32
    words = draw_numpy(4, 0, 0, np.arange(400_000))[0]
    p = 1 - np.exp(-0.05 * 6.0)
    frequency = happens(words, rate_threshold(0.05, 6.0)).mean()
    assert abs(frequency - p) < 4 * np.sqrt(p * (1 - p) / len(words))
    assert happens(words, 2**32).all() and not happens(words, 0).any()
