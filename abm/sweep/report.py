"""`abm sweep-report DIR`: end-of-run metrics against the swept parameters, with replicate spread.

One panel per (metric, swept parameter): the mean over seeds with +/- one standard deviation and
every seed as a point. When two or more parameters vary, the others split the lines (up to
MAX_LINES combinations; beyond that they are pooled).
"""
from __future__ import annotations

import json
from numbers import Number
from pathlib import Path

from ..errors import OutputError
from .summary import PARAM, read_summary

DEFAULT_METRICS = ("final_tumor", "final_nk", "total_kills", "total_births", "total_deaths")
MAX_LINES = 6


def _label(key: str) -> str:
    return key[len(PARAM):] if key.startswith(PARAM) else key


def _positions(values):
    """Numeric x for numbers; evenly spaced categories (sorted by text) otherwise."""
    unique = list(dict.fromkeys(values))
    if all(isinstance(v, Number) and not isinstance(v, bool) for v in unique):
        return {v: float(v) for v in unique}, None
    order = sorted(unique, key=str)
    return {v: float(i) for i, v in enumerate(order)}, [str(v) for v in order]


def plot_sweep(folder, out=None, metrics=None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    folder = Path(folder)
    table = read_summary(folder)
    ok = table[table["status"].isin(["done", "skipped"])].copy()
    if ok.empty:
        raise OutputError(f"{folder}: no completed runs to plot")
    params = [c for c in table.columns if c.startswith(PARAM) and table[c].nunique(dropna=False) > 1]
    if not params:
        params = ["arm"]
    if metrics:
        missing = [m for m in metrics if m not in table.columns]
        if missing:
            choices = ", ".join(c for c in table.columns if c.startswith(("final_", "total_")))
            raise OutputError(f"--metric {missing[0]}: not in the summary (metrics: {choices})")
    else:
        metrics = [m for m in DEFAULT_METRICS if m in table.columns]
        if not metrics:
            raise OutputError(f"{folder}: the summary has no metric columns")
    fig, axes = plt.subplots(len(metrics), len(params), figsize=(4.2 * len(params), 2.9 * len(metrics)),
                             squeeze=False, constrained_layout=True)
    rng = np.random.default_rng(0)  # jitter of the seed points only
    for col, param in enumerate(params):
        others = [p for p in params if p != param]
        groups = ok.groupby(others, dropna=False, sort=True) if others else [((), ok)]
        groups = list(groups)
        if len(groups) > MAX_LINES:
            groups = [((), ok)]
            others = []
        xmap, ticks = _positions(list(ok[param]))
        spread = (max(xmap.values()) - min(xmap.values())) or 1.0
        for row, metric in enumerate(metrics):
            ax = axes[row][col]
            for index, (key, group) in enumerate(groups):
                key = key if isinstance(key, tuple) else (key,)
                label = ", ".join(f"{_label(o)}={v}" for o, v in zip(others, key)) or None
                stats = group.groupby(param, sort=False)[metric].agg(["mean", "std", "count"])
                x = np.array([xmap[v] for v in stats.index])
                order = np.argsort(x)
                color = f"C{index % 10}"
                offset = (index - (len(groups) - 1) / 2) * 0.012 * spread
                ax.errorbar(x[order] + offset, stats["mean"].to_numpy()[order],
                            yerr=np.nan_to_num(stats["std"].to_numpy()[order]), color=color, marker="o",
                            capsize=3, lw=1.2, label=label)
                px = np.array([xmap[v] for v in group[param]]) + offset
                ax.scatter(px + rng.uniform(-0.01, 0.01, len(px)) * spread, group[metric], s=9, color=color,
                           alpha=0.45, lw=0)
            if ticks is not None:
                ax.set_xticks(range(len(ticks)), ticks, rotation=20 if max(map(len, ticks)) > 6 else 0)
            ax.set_xlabel(_label(param))
            ax.set_ylabel(metric)
            ax.grid(alpha=0.3)
            if row == 0 and others:
                ax.legend(fontsize=7)
    n_seeds = int(ok.groupby("arm")["seed"].nunique().max())
    fig.suptitle(f"{folder.name}: mean +/- sd over seeds (up to {n_seeds} per point); "
                 f"{len(ok)} of {len(table)} runs completed", fontsize=10)
    out = Path(out) if out else folder / "report.png"
    try:
        fig.savefig(out, dpi=110)
    except OSError as error:
        raise OutputError(f"{out}: cannot write the figure ({error})") from None
    finally:
        plt.close(fig)
    return out


def describe(folder) -> str:
    """A text digest: runs by status, and the failed runs with their errors."""
    table = read_summary(folder)
    lines = [f"{folder}: " + ", ".join(f"{n} {s}" for s, n in table["status"].value_counts().items())]
    for _, row in table[table["status"] == "failed"].iterrows():
        lines.append(f"  failed {row['run']} {json.loads(row['overrides'])}: {row['error']}")
    return "\n".join(lines)
