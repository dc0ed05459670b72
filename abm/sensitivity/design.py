"""The sample and the indices, through SALib (Morris elementary effects or Sobol variances).

Factors are sampled in log space (bounds log(low), log(high)): log-uniform, so that value / 2
and value * 2 are as far from the nominal value. SALib sees the log values; the config gets
exp() of them (rounded for integers, Factor.at). Morris: `trajectories` trajectories of k + 1
points on a 4-level grid; mu* is the mean |change of the effect| for a step of 2/3 of a
factor's log range, scaled to the whole range (SALib's elementary effect, dY / delta).
Sobol: Saltelli's scheme, N (2k + 2) points, first-order and total indices with bootstrap CIs.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

METHODS = ("morris", "sobol")
MORRIS_LEVELS = 4
SAMPLE_SEED = 20240812  # fixed: the same command gives the same design (and reuses its runs)
ANALYSIS_SEED = 20240813  # the bootstrap of the confidence intervals


def problem(factors) -> dict:
    return {"num_vars": len(factors), "names": [f.key for f in factors],
            "bounds": [[math.log(f.low), math.log(f.high)] for f in factors]}


def sample(factors, method: str, size: int) -> np.ndarray:
    """Design points as log values, one row per point. size: trajectories (Morris) or N (Sobol)."""
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(problem(factors), size, num_levels=MORRIS_LEVELS, seed=SAMPLE_SEED)
    from SALib.sample import sobol

    return sobol.sample(problem(factors), size, calc_second_order=False, seed=SAMPLE_SEED)


def point_values(factors, row) -> dict:
    """{config key: value} at one design point (the overrides of its runs)."""
    return {f.key: f.at(x) for f, x in zip(factors, row)}


def design_table(factors, X: np.ndarray) -> pd.DataFrame:
    rows = [{"point": i, **point_values(factors, row)} for i, row in enumerate(X)]
    return pd.DataFrame(rows, columns=["point"] + [f.key for f in factors])


def morris_indices(factors, X: np.ndarray, y: np.ndarray) -> tuple[pd.DataFrame, int]:
    """Morris indices of one effect, from the trajectories where it is finite at every point (a
    NaN, e.g. no lesion to take a share of, or an unbounded log ratio leaves its trajectory out).
    Returns (table, trajectories used)."""
    from SALib.analyze import morris

    k = len(factors)
    blocks = np.asarray(y, float).reshape(-1, k + 1)
    keep = np.isfinite(blocks).all(axis=1)
    used = int(keep.sum())
    table = pd.DataFrame({"factor": [f.key for f in factors]})
    if used == 0:
        for column in ("mu_star", "mu", "sigma", "mu_star_conf"):
            table[column] = np.nan
        return table, 0
    x_used = X.reshape(-1, k + 1, k)[keep].reshape(-1, k)
    result = morris.analyze(problem(factors), x_used, blocks[keep].ravel(), num_levels=MORRIS_LEVELS,
                            seed=ANALYSIS_SEED)
    for column in ("mu_star", "mu", "sigma", "mu_star_conf"):
        table[column] = np.asarray(result[column], float)
    return table, used


def sobol_indices(factors, y: np.ndarray) -> tuple[pd.DataFrame, int]:
    """Sobol first-order and total indices of one effect (NaN when any point is not finite: the
    Saltelli scheme needs every point)."""
    from SALib.analyze import sobol

    y = np.asarray(y, float)
    table = pd.DataFrame({"factor": [f.key for f in factors]})
    columns = ("S1", "S1_conf", "ST", "ST_conf")
    if not np.isfinite(y).all() or np.ptp(y) == 0:
        for column in columns:
            table[column] = np.nan
        return table, int(np.isfinite(y).sum())
    result = sobol.analyze(problem(factors), y, calc_second_order=False, seed=ANALYSIS_SEED)
    for column in columns:
        table[column] = np.asarray(result[column], float)
    return table, len(y)


def indices(method: str, factors, X: np.ndarray, readouts: pd.DataFrame) -> pd.DataFrame:
    """One row per (read-out: a criterion's effect, factor): the method's indices, and how many
    trajectories (Morris) or points (Sobol) entered them."""
    tables = []
    for name in readouts.columns.drop("point"):
        y = readouts[name].to_numpy(float)
        table, used = morris_indices(factors, X, y) if method == "morris" else sobol_indices(factors, y)
        table.insert(0, "readout", name)
        table["used"] = used
        tables.append(table)
    return pd.concat(tables, ignore_index=True)
