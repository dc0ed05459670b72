"""The files of a study's analysis: design.csv, readouts.csv (each criterion's effect per point),
robustness.csv (per criterion: the points where its claim holds), indices.csv, indices.png, report.md."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .conclusions import robustness_table
from .execute import SEED_START

BARS_PER_PANEL = 12


def write(analysis, command: str) -> Path:
    folder = analysis.folder
    folder.mkdir(parents=True, exist_ok=True)
    analysis.design.to_csv(folder / "design.csv", index=False)
    analysis.readouts.to_csv(folder / "readouts.csv", index=False)
    robustness_table(analysis.verdicts).to_csv(folder / "robustness.csv", index=False)
    analysis.indices.to_csv(folder / "indices.csv", index=False)
    plot(analysis, folder / "indices.png")
    path = folder / "report.md"
    path.write_text("\n".join(markdown(analysis, command)) + "\n")
    return path


def plot(analysis, png: Path) -> None:
    """Bars of mu* (Morris, with its CI) or ST (Sobol) per factor, one panel per criterion's effect."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    morris = analysis.options.method == "morris"
    column, error = ("mu_star", "mu_star_conf") if morris else ("ST", "ST_conf")
    names = list(analysis.readouts.columns.drop("point"))
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 3.6 * rows), squeeze=False)
    for ax, name in zip(axes.ravel(), names):
        part = analysis.indices[analysis.indices["readout"] == name].sort_values(column, ascending=False)
        part = part.head(BARS_PER_PANEL).iloc[::-1]
        ax.barh(part["factor"].str.replace("cells.", "", regex=False), part[column].fillna(0),
                xerr=part[error].fillna(0), color="tab:blue", ecolor="grey")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("mu* (effect units per full range)" if morris else "total Sobol index ST", fontsize=8)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    fig.suptitle(f"{analysis.study}: {'Morris mu*' if morris else 'Sobol ST'} per criterion's effect "
                 f"(+/-{analysis.options.range_factor:g}x, log-uniform)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def markdown(analysis, command: str) -> list[str]:
    o, s = analysis.options, analysis.selection
    size = f"{o.size} trajectories" if o.method == "morris" else f"N = {o.size}"
    lines = [f"# Sensitivity: {analysis.study}", "", f"Command: `{command}`", "",
             f"Method: {o.method} ({size}), {len(analysis.design)} design points x {len(analysis.arms)} arms x "
             f"{o.seeds} seeds (seeds {SEED_START}-{SEED_START + o.seeds - 1}, the same at every point) = "
             f"{analysis.n_runs} runs; "
             f"each factor log-uniform over [value/{o.range_factor:g}, value*{o.range_factor:g}]"
             f"{'; --quick (validation.quick_overrides)' if o.quick else ''}. Wall time {analysis.wall_s:.0f} s.",
             "", f"Failed runs: {len(analysis.failures)}" + "".join(f"\n- {f}" for f in analysis.failures[:10]), "",
             "## Conclusions", "",
             f"The criteria of configs/criteria/{analysis.study}.yaml (their first dimension, 2D). A criterion "
             "holds at a point when its effect there (the criterion's own contrast, abm/validate/evaluate.py, on "
             "the point's runs) lies on the claimed side; an undefined effect is not measurable there, never "
             "holding (robustness.csv: points holding of all points). "
             "Drivers: largest index on that effect; x at flips / x at holds: the driver's median value at the "
             "flipping and at the holding points, as a multiple of its nominal value. Each point has "
             f"{o.seeds} seed(s) per arm: a flip may be seed noise as well as the parameters (a share of runs, e.g. "
             "caspase_any, moves in steps of 1/seeds), so the flip share bounds the parameter-driven flips from "
             "above.", "",
             "| conclusion (criterion: claim) | kind | effect | claimed | verdict "
             "| drivers (index; x at flips / x at holds) |",
             "|---|---|---|---|---|---|"]
    lines += [_verdict_row(v) for v in analysis.verdicts]
    lines += ["", *_flipping_points(analysis.verdicts), *_readout_ranges(analysis), *_factor_lines(analysis)]
    lines += ["", f"Held (not assumed): {', '.join(s.held) or 'none'}.", "",
              f"Assumed parameters no active rule of this study reads (not varied): {', '.join(s.unread) or 'none'}."]
    return lines


def _verdict_row(v) -> str:
    drivers = "; ".join(f"`{d['factor'].replace('cells.', '')}` {d['index']:.3g} "
                        f"({_times(d['at_flips'])} / {_times(d['at_holds'])})" for d in v.drivers) or "-"
    return f"| `{v.criterion}`: {v.text} | {v.kind} | {v.scale or '-'} | {v.target} | {v.status} | {drivers} |"


def _times(multiple: float) -> str:
    return "-" if np.isnan(multiple) else f"x{multiple:.2g}"


def _flipping_points(verdicts) -> list[str]:
    lines = []
    for v in verdicts:
        if not v.flipping_points:
            continue
        lines += [f"Flipping points of `{v.criterion}` (first {len(v.flipping_points)}; design.csv row, effect, "
                  "top drivers as multiples of nominal):", ""]
        for p in v.flipping_points:
            values = ", ".join(f"{k.replace('cells.', '')} x{x:.2g}" for k, x in p.items()
                               if k not in ("point", "value"))
            lines.append(f"- point {p['point']}: {p['value']:.3g}; {values}")
        lines.append("")
    return lines


def _readout_ranges(analysis) -> list[str]:
    lines = ["## Read-outs over the design", "", "| criterion's effect | min | median | max | points measured |",
             "|---|---|---|---|---|"]
    for name in analysis.readouts.columns.drop("point"):
        y = analysis.readouts[name].to_numpy(float)
        finite = y[~np.isnan(y)]  # an unbounded log ratio (inf) is measured: min or max shows it
        if len(finite):
            lines.append(f"| {name} | {finite.min():.3g} | {np.median(finite):.3g} | {finite.max():.3g} | "
                         f"{len(finite)}/{len(y)} |")
        else:
            lines.append(f"| {name} | - | - | - | 0/{len(y)} |")
    return lines + [""]


def _factor_lines(analysis) -> list[str]:
    s = analysis.selection
    kept = {arm: sorted(k for k in keys if k in {f.key for f in s.factors}) for arm, keys in analysis.arms.items()}
    lines = ["## Factors", "", "| factor | nominal | low | high | read by |", "|---|---|---|---|---|"]
    lines += [f"| `{f.key}` | {f.value:g} | {f.low:.4g} | {f.high:.4g} | {', '.join(f.read_by)}"
              f"{' (integer: rounded)' if f.integer else ''} |" for f in s.factors]
    lines += ["", "Excluded (assumed and read by an active rule, but not varied):", ""]
    lines += [f"- `{e.key}`: {e.reason}" for e in s.excluded] or ["- none"]
    lines += [f"- `{key}` not varied in arm {arm}: the arm sets it" for arm, keys in kept.items() for key in keys]
    return lines
