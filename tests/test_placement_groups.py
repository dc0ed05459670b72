"""The from_run `groups` layout (abm/core/placement/groups.py): the clusters a suspension assay formed
arrive whole in the next organ, escorts beside them, within a budget of tumor cells."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from abm import TissueModel
from abm.errors import ConfigError
from abm.io.reader import Run
from abm.runner import run_to_file
from abm.validate.metrics import TYPE_CODE
from run_helpers import ROOT

ASSAY = str(ROOT / "configs" / "northwestern2025_clustering.yaml")
LUNG = str(ROOT / "configs" / "northwestern2025_lung_seeding.yaml")
TUMOR, TCELL = TYPE_CODE["tumor"], TYPE_CODE["tcell"]


@pytest.fixture(scope="module")
def assay(tmp_path_factory):
    """Three clusters of 5 tumor cells, each with 2 T cells touching it, and 4 single tumor cells;
    nothing moves, divides or dies in the hour it runs."""
    out = tmp_path_factory.mktemp("assay") / "seed007.h5"
    placement = [{"pattern": "clusters", "cell_type": "tumor", "count": 3, "cluster_size": 5, "escort_type": "tcell",
                  "escorts_per_cluster": 2, "min_spacing_um": 300},
                 {"pattern": "clusters", "cell_type": "tumor", "count": 4, "cluster_size": 1, "min_spacing_um": 200}]
    still = {"cells.tumor.motility_rate_per_h": 0.0, "cells.tumor.isolated_death_rate_per_h": 0.0,
             "cells.tumor.division_rate_per_h": 0.0, "cells.tumor.death_rate_per_h": 0.0,
             "cells.tcell.move_rate_per_h": 0.0, "cells.tcell.binding_probability_per_contact": 0.0}
    run_to_file(ASSAY, overrides={"lattice.shape": [40, 40], "time.duration_h": 1.0, "placement": placement,
                                  "seed": 7, **still}, out=out, device="cpu", progress=False, log=lambda m: None)
    return out


def _seeded(source, count, **more):
    overrides = {"lattice.shape": [50, 50], "time.duration_h": 0.2, "placement.0.file": str(source),
                 "placement.0.count": count, "placement.1.density_per_mm3": 0.0, "seed": 7, **more}
    model = TissueModel(LUNG, device="cpu", overrides=overrides)
    table = model.agents_table()
    return {code: np.sort(table["site"][table["cell_type"] == code]) for code in (TUMOR, TCELL)}


def _offsets(sites, shape=(50, 50)):
    """The group's sites relative to its corner: its arrangement, wherever it lies."""
    coords = np.stack(np.unravel_index(sites, shape), axis=1)
    return sorted(map(tuple, coords - coords.min(axis=0)))


def test_whole_groups_arrive_in_their_arrangement_within_the_cell_budget(assay):
    placed = _seeded(assay, count=19)  # everything: 3 x 5 + 4
    assert len(placed[TUMOR]) == 19 and len(placed[TCELL]) == 6
    mask = np.zeros(2500, dtype=bool)
    mask[np.concatenate([placed[TUMOR], placed[TCELL]])] = True
    labels, n = ndimage.label(mask.reshape(50, 50), structure=np.ones((3, 3)))
    sizes = sorted(np.bincount(labels.ravel())[1:])
    assert sizes == [1, 1, 1, 1, 7, 7, 7]  # each cluster with its two T cells, the singles alone
    budget = _seeded(assay, count=12)  # whole groups only, while the tumor cells stay within 12
    mask = np.zeros(2500, dtype=bool)
    mask[budget[TUMOR]] = True
    labels, _ = ndimage.label(mask.reshape(50, 50), structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel())[1:]
    assert set(sizes) <= {1, 5} and sizes.sum() == len(budget[TUMOR]) <= 12 and (sizes == 5).any()
    assert len(budget[TCELL]) == 2 * (sizes == 5).sum()  # a cluster's escorts come with it, and only then
    again = _seeded(assay, count=12)
    assert all(np.array_equal(budget[k], again[k]) for k in budget)  # seeded by (run seed, entry)


def test_a_cluster_keeps_the_shape_it_had_in_the_assay(assay):
    with Run(assay) as run:
        agents = run.snapshot()["agents"]
    source = agents["site"][agents["cell_type"] == TUMOR]
    mask = np.zeros(1600, dtype=bool)
    mask[source] = True
    labels, _ = ndimage.label(mask.reshape(40, 40), structure=np.ones((3, 3)))
    shapes = {tuple(_offsets(source[labels.ravel()[source] == g], (40, 40))) for g in range(1, labels.max() + 1)}
    placed = _seeded(assay, count=19)[TUMOR]
    mask = np.zeros(2500, dtype=bool)
    mask[placed] = True
    labels, _ = ndimage.label(mask.reshape(50, 50), structure=np.ones((3, 3)))
    moved = {tuple(_offsets(placed[labels.ravel()[placed] == g])) for g in range(1, labels.max() + 1)}
    assert moved == shapes


def test_groups_between_lattices_of_other_spacings_are_refused(assay):
    with pytest.raises(ConfigError, match="groups keep their arrangement only between lattices of one spacing"):
        _seeded(assay, count=19, **{"lattice.dx_um": 10.0})
