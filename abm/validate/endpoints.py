"""Endpoints a criteria file may name: a run metric (metrics.run_metrics, or the colony assay's)
or one of the per-run values derived here from those metrics. Every value is one number per
run; NaN where it does not exist in that run (a share of zero lesions), and the tests drop it.
"""
from __future__ import annotations

import math

import numpy as np

from .stats import paired as paired_values, values


def colonies(run) -> float:
    """Colonies of the run's colony assay (the organoid's surviving cells, plated and grown)."""
    return run["colonies"]


def seeded_polyclonal_share(run) -> float:
    """Share of the lesions, each read by the seeding unit that founded it, made of two or more clones."""
    return run["seeded_polyclonal_lesions"] / run["seeded_lesions"] if run["seeded_lesions"] > 0 else float("nan")


def seeded_lesions_per_seeded_cell(run) -> float:
    """Lesions, each read by the seeding unit that founded it, per seeded tumor cell."""
    return run["seeded_lesions"] / run["seeded_tumor_cells"] if run["seeded_tumor_cells"] > 0 else float("nan")


def grew_out(run) -> float:
    """1 when a lesion reached the outgrowth size during the run."""
    return float(not math.isnan(run["first_outgrowth_h"]))


def nk_fell_before_outgrowth(run) -> float:
    """1 when the NK count at the first outgrowth is below its start; NaN in runs without one."""
    if math.isnan(run["first_outgrowth_h"]):
        return float("nan")
    return float(run["nk_at_first_outgrowth"] < run["nk_initial"])


DERIVED = {f.__name__: f for f in (colonies, seeded_polyclonal_share, seeded_lesions_per_seeded_cell, grew_out,
                                   nk_fell_before_outgrowth)}


def _reader(endpoint: str):
    return DERIVED.get(endpoint, lambda run: run[endpoint])


def per_run(runs, endpoint: str) -> np.ndarray:
    """One value per run, NaN dropped."""
    return values(runs, _reader(endpoint))


def paired(runs, endpoint_a: str, endpoint_b: str) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of the runs where both exist: two read-outs of the same run."""
    return paired_values(runs, _reader(endpoint_a), _reader(endpoint_b))


def time_to_event(runs, endpoint: str) -> tuple[np.ndarray, np.ndarray]:
    """(times, events): the event's time, or the run's end (censored) where it did not happen."""
    first = np.array([float(run[endpoint]) for run in runs], dtype=float)
    end = np.array([float(run["end_h"]) for run in runs], dtype=float)
    events = ~np.isnan(first)
    return np.where(events, first, end), events

