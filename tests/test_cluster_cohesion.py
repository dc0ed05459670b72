"""Bonds that move with the cell (issue 21, 2025 study): a bound escort follows its tumor partner
into the site the partner leaves (resolution.follow_leaders), and a Plexin-B2+ cluster never loses
a contact by walking (rules/cohesion.py); the lattice invariants are checked after every step.
Also the read-outs of the clustering assay on a hand-made snapshot."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from abm import TissueModel
from abm.engine.compiled_type import contact_table
from abm.kernels.neighbours import neighbour_offsets
from abm.testing import assert_same_state, host_gpu, model_state  # noqa: F401 (host_gpu: a pytest fixture)
from abm.testing.cuda_host import gxx_available
from abm.validate.metrics import STATE, TUMOR, TYPE_CODE, clustered_fraction, share_in_clusters
from run_helpers import ROOT

CLUSTERING = str(ROOT / "configs" / "northwestern2025_clustering.yaml")
STILL = {"cells.tumor.isolated_death_rate_per_h": 0.0, "cells.tumor.death_rate_per_h": 0.0,
         "cells.tumor.division_rate_per_h": 0.0, "debug.check_invariants": True}


def _pair(**more):
    """One tumor cell with one T cell touching it, that binds at first contact and never lets go;
    the tumor cell walks at nearly every step (30 /h at 10 min steps) and nothing holds it back."""
    return {**STILL, "lattice.shape": [24, 24], "time.duration_h": 4.0,
            "placement": [{"pattern": "clusters", "cell_type": "tumor", "count": 1, "cluster_size": 1,
                           "escort_type": "tcell", "escorts_per_cluster": 1}],
            "cells.tumor.motility_rate_per_h": 30.0, "cells.tumor.adhesion_per_contact": 0.0,
            "cells.tcell.binding_probability_per_contact": 1.0, "cells.tcell.unbinding_rate_per_h": 0.0, **more}


def _touch(model, a, b) -> bool:
    cells = model.agents_table()
    (x0, y0), (x1, y1) = (np.unravel_index(cells["site"][cells["id"] == i][0], model.lattice.shape) for i in (a, b))
    return max(abs(int(x0) - int(x1)), abs(int(y0) - int(y1))) == 1


def test_a_bound_escort_travels_with_its_partner():
    model = TissueModel(CLUSTERING, device="cpu", arm="wild_type", seed=4, overrides=_pair())
    tumor_id, tcell_id = 0, 1
    model.step()  # the T cell binds
    start = model.agents_table()["site"].copy()
    tumor_sites = set()
    for _ in range(model.total_steps - 1):
        model.step()
        cells = model.agents_table()
        assert cells["partner"][1] == tumor_id and cells["state"][1] == STATE["tcell"]["bound"]
        assert _touch(model, tumor_id, tcell_id)
        tumor_sites.add(int(cells["site"][0]))
    assert len(tumor_sites) > 5  # the tumor cell walked ...
    assert model.agents_table()["site"][1] != start[1]  # ... and its T cell with it


def test_without_following_the_pair_stays_where_the_escort_bound():
    """The tumor cell keeps its escort's contact (cohesion), so without towing it only circles it."""
    model = TissueModel(CLUSTERING, device="cpu", arm="wild_type", seed=4, overrides=_pair(),
                        ablate=["tcell.follow_partner"])
    model.step()
    escort_site = model.agents_table()["site"][1]
    for _ in range(model.total_steps - 1):
        model.step()
        assert model.agents_table()["site"][1] == escort_site and _touch(model, 0, 1)
    assert model.totals["moves"] > 5


def _contacts(model) -> set:
    """Pairs of ids of viable tumor cells that touch (Moore neighbourhood)."""
    cells = model.agents_table()
    tumor = (cells["cell_type"] == TUMOR) & (cells["state"] != STATE["tumor"]["apoptotic"])
    ids, sites = cells["id"][tumor], cells["site"][tumor]
    xy = np.stack(np.unravel_index(sites, model.lattice.shape), axis=1)
    near = np.abs(xy[:, None, :] - xy[None, :, :]).max(axis=2) == 1
    i, j = np.nonzero(np.triu(near))
    return set(zip(ids[i].tolist(), ids[j].tolist()))


def _groups(model) -> int:
    cell_type, _ = model.lattice_snapshot()
    return ndimage.label(cell_type == TUMOR, structure=np.ones((3, 3)))[1]


@pytest.mark.parametrize("arm, keeps", [("wild_type", True), ("plxnb2_knockout", False)])
def test_a_cluster_does_not_fall_apart_by_walking(arm, keeps):
    """Plexin-B2+ clusters of five, walking fast with nothing slowing them: no contact is ever lost
    and no cluster splits, while cells still move (rim cells roll along their cluster). Without
    Plexin-B2 the same clusters fall apart: the check can fail."""
    overrides = {**STILL, "lattice.shape": [30, 30], "time.duration_h": 6.0,
                 "placement": [{"pattern": "clusters", "cell_type": "tumor", "count": 4, "cluster_size": 5,
                                "escort_type": "tcell", "escorts_per_cluster": 1, "min_spacing_um": 200.0}],
                 "cells.tumor.motility_rate_per_h": 30.0, "cells.tumor.adhesion_per_contact": 0.0,
                 "cells.tcell.binding_probability_per_contact": 1.0, "cells.tcell.unbinding_rate_per_h": 0.0}
    model = TissueModel(CLUSTERING, device="cpu", arm=arm, seed=11, overrides=overrides)
    start = model.agents_table()["site"].copy()
    before, groups = _contacts(model), _groups(model)
    lost = 0
    for _ in range(model.total_steps):
        model.step()
        now = _contacts(model)
        lost += len(before - now)
        assert not keeps or _groups(model) <= groups
        before, groups = now, _groups(model)
    tumor = model.agents_table()["cell_type"] == TUMOR
    assert (model.agents_table()["site"][tumor] != start[tumor]).any()
    assert (lost == 0) == keeps


def test_the_contact_table_knows_which_neighbours_neighbour_each_other():
    offsets = neighbour_offsets(2, "moore")
    table = contact_table(offsets)
    east = [i for i, o in enumerate(offsets) if tuple(o[:2]) == (1, 0)][0]
    north_east = [i for i, o in enumerate(offsets) if tuple(o[:2]) == (1, 1)][0]
    west = [i for i, o in enumerate(offsets) if tuple(o[:2]) == (-1, 0)][0]
    assert table[east] >> north_east & 1 and not table[east] >> west & 1 and not table[east] >> east & 1
    assert [bin(int(t)).count("1") for t in table] == [2, 4, 2, 4, 4, 2, 4, 2]  # corners touch 2 of the ring, edges 4


def _snapshot():
    """A 6x6 tissue: a touching pair of tumor cells, a tumor cell held by a bound T cell, one alone,
    one beside a caspase+ cell only; a free T cell touching a tumor cell and one touching none; NK
    cells likewise."""
    shape = (6, 6)
    cells = [  # (type, state, (x, y), id, partner)
        ("tumor", "proliferating", (0, 0), 0, -1), ("tumor", "proliferating", (0, 1), 1, -1),
        ("tumor", "proliferating", (3, 3), 2, -1), ("tcell", "bound", (3, 4), 3, 2),
        ("tumor", "dormant", (5, 0), 4, -1), ("tumor", "apoptotic", (5, 5), 5, -1),
        ("tumor", "proliferating", (4, 5), 6, -1), ("tcell", "free", (2, 2), 7, -1),
        ("tcell", "free", (0, 4), 8, -1), ("nk", "active", (1, 2), 9, -1), ("nk", "active", (5, 2), 10, -1),
    ]
    cell_type, cell_state = np.full(shape, -1, np.int8), np.full(shape, -1, np.int8)
    agents = {key: [] for key in ("cell_type", "state", "site", "id", "partner")}
    for kind, state, xy, ident, partner in cells:
        cell_type[xy], cell_state[xy] = TYPE_CODE[kind], STATE[kind][state]
        for key, value in zip(agents, (TYPE_CODE[kind], STATE[kind][state], np.ravel_multi_index(xy, shape),
                                       ident, partner)):
            agents[key].append(value)
    return {"cell_type": cell_type, "cell_state": cell_state, "agents": {k: np.array(v) for k, v in agents.items()}}


def test_the_clustered_fraction_and_the_shares_in_clusters_of_a_hand_made_snapshot():
    snap = _snapshot()
    assert clustered_fraction(snap) == pytest.approx(3 / 5)  # the pair and the held cell, of five viable
    assert share_in_clusters(snap, "tcell") == pytest.approx((2 + 0.5) / (3 + 1))  # bound, and free at (2, 2)
    assert share_in_clusters(snap, "nk") == pytest.approx((1 + 0.5) / (2 + 1))
    assert np.isnan(share_in_clusters(snap, "neutrophil"))


@pytest.mark.skipif(not gxx_available(), reason="g++ not found: CUDA sources cannot be built for the host")
@pytest.mark.parametrize("arm", ["wild_type", "anti_vla4"])
def test_the_clustering_assay_on_the_gpu_code_path_equals_numpy(host_gpu, arm):
    overrides = {"lattice.shape": [40, 40], "time.duration_h": 6.0, "debug.check_invariants": True}
    runs = {}
    for device in ("cpu", "gpu"):
        model = TissueModel(CLUSTERING, device=device, arm=arm, seed=5, overrides=overrides)
        model.run()
        runs[device] = model_state(model)
    cells = runs["cpu"][0]
    assert (cells["state"][cells["cell_type"] == TYPE_CODE["tcell"]] == STATE["tcell"]["bound"]).any()
    assert_same_state(runs["cpu"], runs["gpu"])
