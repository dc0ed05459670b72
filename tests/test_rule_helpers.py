"""The rules' selection helpers give exactly what the per-type and per-mask forms gave."""
import numpy as np
import pytest

from abm.plugins import builtin_spec
from abm.rules import slots_by_type, where_true

N_TYPES = builtin_spec().n_types


@pytest.mark.parametrize("n", [0, 1, 17, 5000])
def test_slots_by_type_equals_one_nonzero_per_type(n):
    rng = np.random.default_rng(n)
    cell_type = rng.choice(np.arange(N_TYPES, dtype=np.int8), size=n, p=[0.7] + [0.3 / (N_TYPES - 1)] * (N_TYPES - 1))
    by_type = slots_by_type(np, cell_type, to_host=np.asarray, n_types=N_TYPES)
    assert sorted(by_type) == list(range(N_TYPES))
    for code in range(N_TYPES):
        np.testing.assert_array_equal(by_type[code], np.nonzero(cell_type == code)[0])


def test_where_true_equals_boolean_indexing_of_each_array():
    rng = np.random.default_rng(1)
    mask = rng.random(1000) < 0.3
    a, b = rng.integers(0, 10**6, 1000), rng.random(1000).astype(np.float32)
    got_a, got_b = where_true(np, mask, a, b)
    np.testing.assert_array_equal(got_a, a[mask])
    np.testing.assert_array_equal(got_b, b[mask])
    assert got_b.dtype == np.float32


def test_a_masked_update_changes_only_the_cells_in_its_mask():
    from types import SimpleNamespace

    from abm.resolution import apply_updates
    from abm.rules import Intents

    agents = SimpleNamespace(columns={"state": np.array([0, 1, 2, 3], dtype=np.int8),
                                      "state_age_min": np.full(4, 30.0, dtype=np.float32),
                                      "partner": np.array([5, 6, 7, 8])})
    intents = Intents()
    slots = np.array([3, 1, 0])
    intents.update("partner", slots, np.int64(-1), where=np.array([True, False, True]))
    intents.update("state", slots, np.int8(1), where=np.array([True, True, False]))
    apply_updates(np, agents, intents.updates)
    np.testing.assert_array_equal(agents.columns["partner"], [-1, 6, 7, -1])
    np.testing.assert_array_equal(agents.columns["state"], [0, 1, 2, 1])
    # the state clock restarts only where the state changed: slot 3 (3 -> 1), not slot 1 (1 -> 1)
    np.testing.assert_array_equal(agents.columns["state_age_min"], [30, 30, 30, 0])
