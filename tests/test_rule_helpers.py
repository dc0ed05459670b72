"""The cells of each type, from one sort: exactly what one nonzero per type gives."""
import numpy as np
import pytest

from abm.plugins import builtin_spec
from abm.rules import slots_by_type

N_TYPES = builtin_spec().n_types


@pytest.mark.parametrize("n", [0, 1, 17, 5000])
def test_slots_by_type_equals_one_nonzero_per_type(n):
    rng = np.random.default_rng(n)
    cell_type = rng.choice(np.arange(N_TYPES, dtype=np.int8), size=n, p=[0.7] + [0.3 / (N_TYPES - 1)] * (N_TYPES - 1))
    by_type = slots_by_type(np, cell_type, to_host=np.asarray, n_types=N_TYPES)
    assert sorted(by_type) == list(range(N_TYPES))
    for code in range(N_TYPES):
        np.testing.assert_array_equal(by_type[code], np.nonzero(cell_type == code)[0])
