"""Calibration diagnostics as PNG (matplotlib only; optuna's own plots would need plotly)."""
from __future__ import annotations

import math

import numpy as np


def _figure(n_panels: int, width: float = 4.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(n_panels, 3)
    rows = math.ceil(n_panels / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(width * columns, 3.2 * rows), squeeze=False)
    for axis in axes.ravel()[n_panels:]:
        axis.set_visible(False)
    return plt, figure, axes.ravel()


def _parameter_axis(axis, bounds) -> None:
    """Log scale for log-sampled parameters, with labels on the decades only (they overlap otherwise)."""
    from matplotlib.ticker import NullFormatter

    if bounds.log:
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(NullFormatter())


def plot_history(table, path) -> None:
    """Objective per trial (failed trials left out) with the running best; log scale."""
    plt, figure, (axis,) = _figure(1, width=6.0)
    done = table.dropna(subset=["objective"]).sort_values("trial")
    axis.scatter(done["trial"], done["objective"], s=14, color="tab:blue", label="trial")
    axis.step(done["trial"], np.minimum.accumulate(done["objective"].to_numpy()), where="post",
              color="tab:red", label="best so far")
    if (done["objective"] > 0).all():
        axis.set_yscale("log")
    axis.set_xlabel("trial")
    axis.set_ylabel("objective (sum of squared deviations)")
    axis.legend(frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_slices(calibration, table, path) -> None:
    """Objective against each fitted parameter (a flat slice: the targets do not pin it)."""
    keys = list(calibration.spec.parameters)
    plt, figure, axes = _figure(len(keys))
    done = table.dropna(subset=["objective"])
    best = done.loc[done["objective"].idxmin()] if len(done) else None
    for axis, key in zip(axes, keys):
        bounds = calibration.spec.parameters[key]
        axis.scatter(done[key], done["objective"], s=14, c=done["trial"], cmap="viridis")
        if best is not None:
            axis.axvline(best[key], color="tab:red", lw=1)
        _parameter_axis(axis, bounds)
        if len(done) and (done["objective"] > 0).all():
            axis.set_yscale("log")
        axis.set_xlim(bounds.low, bounds.high)
        axis.set_xlabel(key.split(".", 1)[1], fontsize=8)
        axis.set_ylabel("objective")
    figure.suptitle("objective vs each parameter (colour: trial; red: best)", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_target_slices(calibration, table, path) -> None:
    """Each target's deviation (in tolerances) against each parameter: which target pins which
    parameter. Grey band: within one tolerance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys, targets = list(calibration.spec.parameters), list(calibration.spec.targets)
    done = table.dropna(subset=["objective"])
    figure, axes = plt.subplots(len(targets), len(keys), figsize=(3.0 * len(keys), 2.4 * len(targets)),
                                squeeze=False, sharex="col")
    for row, name in enumerate(targets):
        for column, key in enumerate(keys):
            axis, bounds = axes[row, column], calibration.spec.parameters[key]
            axis.axhspan(-1, 1, color="0.9")
            axis.scatter(done[key], done[f"{name}_deviation"], s=10, c=done["trial"], cmap="viridis")
            _parameter_axis(axis, bounds)
            axis.set_xlim(bounds.low, bounds.high)
            if column == 0:
                axis.set_ylabel(f"{name}\n(tolerances)", fontsize=8)
            if row == len(targets) - 1:
                axis.set_xlabel(key.split(".", 1)[1], fontsize=8)
    figure.suptitle("deviation of each target vs each parameter (grey: within one tolerance)", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
