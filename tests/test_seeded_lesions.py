"""Lesions read by the seeding unit that founded them (abm/validate/metrics.py seeded_lesions):
lineage keeps apart lesions that grew into each other, and a unit's clones say if it is polyclonal."""
import numpy as np

from abm.validate.metrics import APOPTOTIC, TUMOR, lesions, seeded_lesions

SHAPE = (12, 12)


def _snapshot(cells):
    """cells: (row, col, clone, apoptotic) of tumor cells."""
    cell_type = np.full(SHAPE, -1, dtype=np.int8)
    cell_state = np.full(SHAPE, -1, dtype=np.int8)
    sites, clones = [], []
    for row, col, clone, dead in cells:
        cell_type[row, col] = TUMOR
        cell_state[row, col] = APOPTOTIC if dead else 0
        sites.append(row * SHAPE[1] + col)
        clones.append(clone)
    agents = {"cell_type": np.full(len(cells), TUMOR, dtype=np.int8), "site": np.array(sites, dtype=np.int64),
              "clone": np.array(clones, dtype=np.int64)}
    return {"cell_type": cell_type, "cell_state": cell_state, "agents": agents}


def test_two_units_that_grew_into_one_mass_stay_two_lesions():
    # seeded: a single cell (clone 1) at the left, a cluster of two (clones 2, 3) at the right, a lone cell (4)
    first = _snapshot([(2, 1, 1, False), (2, 8, 2, False), (2, 9, 3, False), (10, 10, 4, False)])
    # grown: rows 0-2 of columns 0-3 from clone 1 (12 cells), columns 4-7 from clones 2 and 3 (6 each),
    # touching: one connected mass; clone 4 has 3 cells and one dead daughter of clone 1 lies apart
    grown = [(r, c, 1, False) for r in range(3) for c in range(4)]
    grown += [(r, c, 2 if c < 6 else 3, False) for r in range(3) for c in range(4, 8)]
    grown += [(10, 9, 4, False), (10, 10, 4, False), (10, 11, 4, False), (6, 0, 1, True)]
    last = _snapshot(grown)
    assert len(lesions(last, 10)) == 1  # the connected-group read-out sees one lesion
    found = sorted(seeded_lesions(first, last, 10), key=lambda lesion: lesion["founders"])
    assert found == [{"size": 12, "founders": 1, "clones": 1}, {"size": 12, "founders": 2, "clones": 2}]


def test_a_cluster_reduced_to_one_clone_founds_a_monoclonal_lesion():
    first = _snapshot([(5, 5, 7, False), (5, 6, 8, False)])
    last = _snapshot([(r, c, 8, False) for r in range(4) for c in range(3)])  # clone 7 died out
    assert seeded_lesions(first, last, 10) == [{"size": 12, "founders": 2, "clones": 1}]
    assert seeded_lesions(first, last, 13) == []
