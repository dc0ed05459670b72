"""Read-outs of a run, computed from its snapshots and time series like an experimentalist would.

Each function takes host arrays (a snapshot dict as returned by ``Run.snapshot``: lattice
``cell_type``/``cell_state`` and the ``agents`` table), so the same code reads HDF5 outputs and
live models. 3D lattices are read as a projection along the last axis (as a microscope image).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..config.plugins import builtin_spec

# Codes of the built-in types (the same in every model: plugins' types come after them).
TYPE_CODE, STATE = builtin_spec().type_code, builtin_spec().state
TUMOR = TYPE_CODE["tumor"]
APOPTOTIC = STATE["tumor"]["apoptotic"]


def _viable_tumor(snapshot):
    return (snapshot["cell_type"] == TUMOR) & (snapshot["cell_state"] != APOPTOTIC)


def _projected(mask):
    return mask if mask.ndim == 2 else mask.any(axis=-1)


def any_caspase_positive(snapshot) -> bool:
    """Does the organoid hold at least one caspase+ (apoptotic) tumor cell?"""
    return bool(((snapshot["cell_type"] == TUMOR) & (snapshot["cell_state"] == APOPTOTIC)).any())


def organoid_area_um2(snapshot, dx_um: float) -> float:
    """Area of the tumor's outline (holes filled), from the projected image."""
    mask = ndimage.binary_fill_holes(_projected(snapshot["cell_type"] == TUMOR))
    return float(mask.sum() * dx_um**2)


def inverse_circularity(snapshot) -> float:
    """P^2 / (4 pi A) of the filled tumor outline: 1 for a disc, larger for invasive strands.

    P counts exposed site edges, which overestimates a disc's perimeter by about 4/pi on a
    lattice, so the value is normalised by that of a lattice disc of the same area.
    """
    mask = ndimage.binary_fill_holes(_projected(snapshot["cell_type"] == TUMOR))
    area = mask.sum()
    if area == 0:
        return float("nan")
    padded = np.pad(mask, 1)
    perimeter = sum(np.count_nonzero(padded & ~np.roll(padded, shift, axis)) for axis in (0, 1) for shift in (1, -1))
    return float(perimeter**2 / (4 * np.pi * area) / (16 / np.pi**2))


def cells_outside_organoid(snapshot) -> float:
    """Viable tumor cells not touching the organoid body (its largest touching group of tumor
    cells): invading leaders that have left it. Reported beside the shape, not tested."""
    viable = _viable_tumor(snapshot)
    labels, n = ndimage.label(_projected(viable), structure=np.ones((3, 3)))
    if n == 0:
        return 0.0
    sizes = np.bincount(labels.ravel())[1:]
    return float(sizes.sum() - sizes.max())


def colonies(run: dict) -> float:
    """The colony read-out of one run's metrics, the only place the criteria get it from: the
    colonies its colony assay grew (validate/protocol.py fills it in from the assay run)."""
    return run["colonies"]


def colony_count(snapshot, min_cells: int) -> int:
    """Colonies in a colony assay's snapshot (cells plated at clonal density, then grown):
    connected groups of viable tumor cells of at least min_cells cells."""
    return cluster_count(snapshot, min_cells)


def lesions(snapshot, min_cells: int):
    """Connected groups (touching, any direction) of viable tumor cells with at least min_cells.

    Returns a list of dicts: size (cells) and clones (distinct founding cells).
    """
    viable = _viable_tumor(snapshot)
    labels, n = ndimage.label(viable, structure=np.ones((3,) * viable.ndim))
    if n == 0:
        return []
    sizes = np.bincount(labels.ravel())[1:]
    agents = snapshot["agents"]
    is_tumor = agents["cell_type"] == TUMOR
    site_label = labels.ravel()[agents["site"][is_tumor]]
    clones = agents["clone"][is_tumor]
    found = []
    for label in np.nonzero(sizes >= min_cells)[0] + 1:
        found.append({"size": int(sizes[label - 1]), "clones": int(len(np.unique(clones[site_label == label])))})
    return found


def seeded_lesions(first, last, min_cells: int) -> list[dict]:
    """Lesions by the seeding unit that founded them, read from lineage (as a multicolour lineage
    tracing reads nodules), so that lesions growing into each other stay apart. A seeding unit is a
    group of touching tumor cells at the first snapshot (a single cell or a cluster); it founded a
    lesion when its viable descendants at the last snapshot number at least min_cells. Returns one
    dict per such lesion: size, founders (cells of its unit) and clones (founding cells with viable
    descendants: a lesion of two or more is polyclonal)."""
    is_tumor = first["agents"]["cell_type"] == TUMOR
    labels, _ = ndimage.label(first["cell_type"] == TUMOR, structure=np.ones((3,) * first["cell_type"].ndim))
    founders = first["agents"]["clone"][is_tumor]
    units = labels.ravel()[first["agents"]["site"][is_tumor]]
    agents = last["agents"]
    viable = (agents["cell_type"] == TUMOR) & (last["cell_state"].ravel()[agents["site"]] != APOPTOTIC)
    clone_alive, descendants = np.unique(agents["clone"][viable], return_counts=True)
    order = np.argsort(founders)
    known = np.isin(clone_alive, founders)
    unit_of_alive = units[order][np.searchsorted(founders[order], clone_alive[known])]
    size = np.bincount(unit_of_alive, weights=descendants[known], minlength=units.max(initial=0) + 1)
    clones = np.bincount(unit_of_alive, minlength=size.size)
    cells = np.bincount(units, minlength=size.size)
    return [{"size": int(size[u]), "founders": int(cells[u]), "clones": int(clones[u])}
            for u in np.nonzero(size >= min_cells)[0]]


def cluster_count(snapshot, min_cells: int = 2) -> int:
    """Groups of at least min_cells touching viable tumor cells."""
    viable = _viable_tumor(snapshot)
    labels, n = ndimage.label(viable, structure=np.ones((3,) * viable.ndim))
    if n == 0:
        return 0
    return int((np.bincount(labels.ravel())[1:] >= min_cells).sum())


def clustered_fraction(snapshot) -> float:
    """Share of the viable tumor cells that are in a cluster: touching another viable tumor cell (a
    group of two or more) or held by a bound escort (a heterotypic cluster); NaN without any."""
    agents = snapshot["agents"]
    viable = _viable_tumor(snapshot)
    labels, _ = ndimage.label(viable, structure=np.ones((3,) * viable.ndim))
    sizes = np.bincount(labels.ravel())
    tumor = (agents["cell_type"] == TUMOR) & (agents["state"] != APOPTOTIC)
    in_group = tumor & (sizes[labels.ravel()[agents["site"]]] >= 2)
    escorts = np.isin(agents["cell_type"], [TYPE_CODE["tcell"], TYPE_CODE["neutrophil"]])
    bound = escorts & (agents["partner"] >= 0)
    held = tumor & np.isin(agents["id"], agents["partner"][bound])
    return float((in_group | held).sum() / tumor.sum()) if tumor.any() else float("nan")


def share_in_clusters(snapshot, cell_type: str) -> float:
    """Share of the cells of a type touching a viable tumor cell (in a heterotypic cluster, as the
    2025 JCI study counts a white cell attached to a tumor cell), with 0.5 added to the cells
    touching and 1 to all (finite ratios between types); NaN where the type has no cell."""
    agents = snapshot["agents"]
    viable = _viable_tumor(snapshot)
    near = ndimage.binary_dilation(viable, structure=np.ones((3,) * viable.ndim)).ravel()
    sites = agents["site"][agents["cell_type"] == TYPE_CODE[cell_type]]
    return float((near[sites].sum() + 0.5) / (len(sites) + 1)) if len(sites) else float("nan")


def proliferating_fractions(snapshot, ki67_window_min: float):
    """Ki67+ fraction (divided within the window) of tumor cells in neutrophil clusters and of singles.

    A neutrophil cluster is a connected group of viable tumor cells of which at least one is held
    by a bound neutrophil (as CTC-neutrophil clusters are sampled whole); a single is a viable
    tumor cell touching no other and bound by none.
    Returns (cluster fraction, single fraction, cells in neutrophil clusters, singles); NaN where none.
    """
    agents = snapshot["agents"]
    tumor = (agents["cell_type"] == TUMOR) & (agents["state"] != APOPTOTIC)
    neutrophil_bound = (agents["cell_type"] == TYPE_CODE["neutrophil"]) & (agents["state"] == STATE["neutrophil"]["bound"])
    bound = tumor & np.isin(agents["id"], np.unique(agents["partner"][neutrophil_bound]))
    viable = _viable_tumor(snapshot)
    labels, _ = ndimage.label(viable, structure=np.ones((3,) * viable.ndim))
    own_label = labels.ravel()[agents["site"]]
    sizes = np.bincount(labels.ravel())
    in_neutrophil_cluster = tumor & np.isin(own_label, np.unique(own_label[bound]))
    single = tumor & ~bound & (sizes[own_label] == 1)
    ki67 = agents["cycle_clock_min"] < ki67_window_min

    def fraction(mask):
        return float(ki67[mask].mean()) if mask.any() else float("nan")

    return fraction(in_neutrophil_cluster), fraction(single), int(in_neutrophil_cluster.sum()), int(single.sum())


def kill_probability_per_contact(series):
    """Kills per completed NK conjugate, for single and for clustered targets (NaN if none)."""
    def ratio(kills, contacts):
        total = series[contacts].sum()
        return float(series[kills].sum() / total) if total else float("nan")

    return ratio("kills_single", "contacts_single"), ratio("kills_clustered", "contacts_clustered")


def run_metrics(path, validation) -> dict:
    """Every read-out of one run file as scalars (criteria pick the ones their study needs)."""
    from ..io.reader import Run

    with Run(path) as run:
        series = run.timeseries()
        steps = run.snapshot_steps
        first, last = run.snapshot(steps[0]), run.snapshot(steps[-1])
        dx = float(run.attrs["dx_um"])
        window = float(_tumor_setting(run, "ki67_window_h", 24.0)) * 60.0
        found = lesions(last, validation.lesion_min_cells)
        by_unit = seeded_lesions(first, last, validation.lesion_min_cells)
        largest, first_outgrowth_h, at_24h = 0, float("nan"), None
        for step in steps:
            snap = run.snapshot(step)
            sizes = [lesion["size"] for lesion in lesions(snap, 1)]
            largest = max([largest] + sizes)
            if np.isnan(first_outgrowth_h) and sizes and max(sizes) >= validation.outgrowth_cells:
                first_outgrowth_h = snap["time_h"]
            if at_24h is None or abs(snap["time_h"] - 24.0) < abs(at_24h["time_h"] - 24.0):
                at_24h = snap
    tumor_first = int(((first["agents"]["cell_type"] == TUMOR)).sum())
    cluster_ki67, single_ki67, _, _ = proliferating_fractions(at_24h, window)
    all_ki67 = _ki67_all(at_24h, window)
    p_single, p_clustered = kill_probability_per_contact(series)
    return {
        "caspase_any": float(any_caspase_positive(last)),
        "area_fold_change": organoid_area_um2(last, dx) / max(organoid_area_um2(first, dx), 1e-12),
        "inverse_circularity": inverse_circularity(last),
        "cells_outside_organoid": cells_outside_organoid(last),
        "colonies": float("nan"),  # counted in the study's colony assay run (validate/protocol.py), if it has one
        "colony_cells_plated": float("nan"),
        "lesions": len(found),
        "lesion_burden": float(sum(lesion["size"] for lesion in found)),
        "polyclonal_lesions": float(sum(lesion["clones"] >= 2 for lesion in found)),
        "seeded_lesions": float(len(by_unit)),
        "seeded_polyclonal_lesions": float(sum(lesion["clones"] >= 2 for lesion in by_unit)),
        "seeded_monoclonal_lesions": float(sum(lesion["clones"] == 1 for lesion in by_unit)),
        "largest_lesion_ever": float(largest),
        "first_outgrowth_h": first_outgrowth_h,
        "seeded_tumor_cells": float(tumor_first),
        "clusters_final": float(cluster_count(last)),
        "tumor_clustered_fraction": clustered_fraction(last),
        "tcell_share_in_clusters": share_in_clusters(last, "tcell"),
        "nk_share_in_clusters": share_in_clusters(last, "nk"),
        "kill_probability_single": p_single,
        "kill_probability_clustered": p_clustered,
        "ki67_neutrophil_clusters_24h": cluster_ki67,
        "ki67_single_24h": single_ki67,
        "ki67_all_24h": all_ki67,
        "ki67_seeded_24h": ki67_of_seeded_cells(first, at_24h, window),
        "nk_initial": float(series["nk"].iloc[0]),
        "nk_final": float(series["nk"].iloc[-1]),
        "nk_at_first_outgrowth": _value_at(series, "nk", first_outgrowth_h),
        "tumor_final": float(series["tumor"].iloc[-1]),
        "kills": float(series["kills"].sum()),
        "kills_single_n": float(series["kills_single"].sum()),
        "contacts_single_n": float(series["contacts_single"].sum()),
        "kills_clustered_n": float(series["kills_clustered"].sum()),
        "contacts_clustered_n": float(series["contacts_clustered"].sum()),
        "end_h": float(series.index[-1]),  # indexed by time_h
    }


def _tumor_setting(run, key, default):
    import yaml

    config = yaml.safe_load(run.attrs["config_yaml"])
    return config.get("cells", {}).get("tumor", {}).get(key, default)


def ki67_of_seeded_cells(first, later, window_min: float) -> float:
    """Share of the seeded tumor cells whose clone holds a viable Ki67+ cell (divided within the
    window) at the later snapshot. Every seeded cell stays in the denominator, the dead included,
    so arms that seed different classes are read on the same population: what became of each
    cell put in, not only of the survivors (a survivor-only share is 1 wherever only dividing
    cells survive)."""
    seeded = first["agents"]["clone"][first["agents"]["cell_type"] == TUMOR]
    if len(seeded) == 0:
        return float("nan")
    agents = later["agents"]
    cycling = (agents["cell_type"] == TUMOR) & (agents["state"] != APOPTOTIC) & (agents["cycle_clock_min"] < window_min)
    return float(np.isin(np.unique(seeded), agents["clone"][cycling]).sum() / len(np.unique(seeded)))


def _ki67_all(snapshot, window_min):
    agents = snapshot["agents"]
    viable = (agents["cell_type"] == TUMOR) & (agents["state"] != APOPTOTIC)
    return float((agents["cycle_clock_min"][viable] < window_min).mean()) if viable.any() else float("nan")


def _value_at(series, column, time_h):
    if np.isnan(time_h):
        return float("nan")
    index = int(np.searchsorted(series.index.to_numpy(), time_h))
    return float(series[column].iloc[min(index, len(series) - 1)])
