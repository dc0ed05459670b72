"""The placement patterns that make sites: organoid balls, scattered cells (in a shell around a
centre, or anywhere), clusters of tumor cells with their escorts."""
from __future__ import annotations

import math

import numpy as np


def _center_sites(shape, dx_um, center_um):
    if center_um is None:
        return np.array([n / 2.0 for n in shape])  # in units of sites, site centres at i + 0.5
    return np.asarray(center_um, dtype=float) / dx_um


def _box_sites(shape, center, radius_sites):
    """All sites within an axis-aligned box around center, with their distance in sites."""
    ranges = [
        np.arange(max(0, int(math.floor(c - radius_sites))), min(n, int(math.ceil(c + radius_sites)) + 1))
        for c, n in zip(center, shape)
    ]
    grids = np.meshgrid(*ranges, indexing="ij")
    coords = np.stack([g.ravel() for g in grids], axis=1)
    distance = np.sqrt((((coords + 0.5) - center) ** 2).sum(axis=1))
    sites = np.ravel_multi_index(tuple(coords.T), shape)
    return sites.astype(np.int64), distance


def ball(shape, dx_um, count, taken, center_um=None):
    """The `count` free sites nearest the centre (a disc in 2D, a sphere in 3D); ties by site index."""
    if count == 0:
        return np.empty(0, dtype=np.int64)
    center = _center_sites(shape, dx_um, center_um)
    ndim = len(shape)
    radius = (count / math.pi) ** 0.5 if ndim == 2 else (3 * count / (4 * math.pi)) ** (1 / 3)
    radius = radius * 1.3 + 2
    while True:
        sites, distance = _box_sites(shape, center, radius)
        free = ~np.isin(sites, taken)
        if free.sum() >= count or radius > max(shape) * 2:
            break
        radius *= 1.5
    sites, distance = sites[free], distance[free]
    if len(sites) < count:
        raise ValueError(f"only {len(sites)} free sites for a ball of {count} cells")
    order = np.lexsort((sites, distance))
    return np.sort(sites[order[:count]])


def scatter(shape, dx_um, count, taken, rng, center_um=None, inner_radius_um=0.0, outer_radius_um=None):
    """`count` distinct free sites drawn uniformly, optionally within a shell around a centre."""
    if count == 0:
        return np.empty(0, dtype=np.int64)
    center = _center_sites(shape, dx_um, center_um)
    inner = inner_radius_um / dx_um
    if outer_radius_um is not None:
        candidates, distance = _box_sites(shape, center, outer_radius_um / dx_um)
        candidates = candidates[(distance >= inner) & (distance <= outer_radius_um / dx_um)]
        candidates = candidates[~np.isin(candidates, taken)]
        if len(candidates) < count:
            raise ValueError(f"only {len(candidates)} free sites in the shell for {count} cells")
        return np.sort(rng.choice(candidates, size=count, replace=False))
    n_sites = math.prod(shape)
    chosen = np.empty(0, dtype=np.int64)
    for _attempt in range(1000):  # rejection sampling: cheap on a mostly empty lattice
        draw = rng.integers(0, n_sites, size=2 * (count - len(chosen)) + 16)
        coords = (np.stack(np.unravel_index(draw, shape), axis=1) + 0.5)
        ok = np.sqrt(((coords - center) ** 2).sum(axis=1)) >= inner
        draw = draw[ok & ~np.isin(draw, taken) & ~np.isin(draw, chosen)]
        _, first = np.unique(draw, return_index=True)
        chosen = np.concatenate([chosen, draw[np.sort(first)]])[:count]
        if len(chosen) == count:
            return np.sort(chosen)
    raise ValueError(f"could not find {count} free sites for scattered cells")


def clusters(shape, dx_um, entry, taken, rng):
    """Compact clusters of `cluster_size` cells at random centres, each with escorts touching it.

    Returns (tumor-type sites, escort sites)."""
    members, escorts = [], []
    centres = []
    spacing = entry.min_spacing_um / dx_um
    middle = np.array([n / 2.0 for n in shape])
    for _cluster in range(entry.count):
        for _attempt in range(10_000):
            centre = rng.random(len(shape)) * np.array(shape)
            far = all(np.linalg.norm(centre - c) >= spacing for c in centres)
            if far and np.linalg.norm(centre - middle) >= entry.inner_radius_um / dx_um:
                break
        else:
            raise ValueError(f"no room for {entry.count} clusters {entry.min_spacing_um} um apart")
        centres.append(centre)
        centre_um = list(centre * dx_um)
        cells = ball(shape, dx_um, entry.cluster_size, taken, centre_um)
        taken = np.concatenate([taken, cells])
        members.append(cells)
        if entry.escorts_per_cluster:
            # The nearest free sites around the cluster centre touch the cluster.
            ring = ball(shape, dx_um, entry.escorts_per_cluster, taken, centre_um)
            taken = np.concatenate([taken, ring])
            escorts.append(ring)
    join = lambda parts: np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)  # noqa: E731
    return join(members), join(escorts)
