"""The validation report: a pass/fail table on the terminal, Markdown with PNG figures on disk."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

from .checks import counted
from .design import criteria_path, freeze_status, load_criteria
from .robustness import robust_text

FIGURE_METRICS = {
    "chan2020": ["caspase_any", "inverse_circularity", "cells_outside_organoid", "colonies", "kills"],
    "lo2020": ["lesions", "polyclonal_lesions", "tumor_final", "kills"],
    "correia2021": ["lesions", "largest_lesion_ever", "first_outgrowth_h", "nk_final"],
    "szczerba2019": ["lesion_burden", "ki67_seeded_24h", "ki67_neutrophil_clusters_24h", "tumor_final"],
    "nw2025_seeding": ["lesions", "seeded_tumor_cells", "lesion_burden", "tumor_final"],
    "nw2025_clustering": ["tumor_clustered_fraction", "tcell_share_in_clusters", "nk_share_in_clusters",
                          "tumor_final"],
}


def _p(value) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.3g}"


def _name(c) -> str:
    return f"{c.criterion.id}: {c.criterion.claim}"


def _dimension(c) -> str:
    return c.dimension.upper()


def _control_text(c) -> str:
    if not c.criterion.mechanism:
        return "-"
    if c.control is None:
        return "not run"
    return f"{c.control.state}: {c.control.text}"


def _figure_text(c) -> str:
    figure = c.criterion.study_figure
    if figure is None:
        return "-"
    value = f"{figure.low:g}" if figure.low == figure.high else f"{figure.low:g}-{figure.high:g}"
    inside = c.inference.defined and c.inference.low <= figure.high and c.inference.high >= figure.low
    return f"{value} ({figure.source}): {'in' if inside else 'outside'} the interval"


def summary(checks) -> str:
    n = counted(checks)
    return (f"Summary: {len(checks)} results; {n['predictions']} predictions counted (primary, in their own "
            f"dimension; each claim once); {n['validated']} validated (pass after Holm, and the effect is "
            f"weaker without their mechanism), {n['passes without its mechanism']} pass without their mechanism "
            f"being shown, {n['PASS (control not testable)']} pass with a control that cannot test them, "
            f"{n['PASS (no control run)']} pass with no control run, {n['FAIL']} fail"
            + (f", {n['not required (quick)']} not required with --quick" if n["not required (quick)"] else "")
            + f". Not counted: {n['not counted']} (calibrated, built-in, secondary endpoints, replications).")


def table(checks, quick=False) -> str:
    width = max((len(c.criterion.id) for c in checks), default=10)
    lines = []
    for c in checks:
        p = f"  [{c.criterion.test}: p = {_p(c.inference.p)}, Holm {_p(c.p_adjusted)}]" if c.inference.p is not None else ""
        lines.append(f"{c.status:<30}  {c.title + ' ' + _dimension(c):<26} {c.criterion.id:<{width}}  {c.measured}"
                     f"{p}  [{c.inference.text()}]  [control: {_control_text(c)}]  "
                     f"[{robust_text(c.study, c.criterion.id, c.dimension)}]")
    lines.append(summary(checks))
    return "\n".join(lines)


def figure(study, by_arm, out_png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = {key for runs in by_arm.values() for run in runs for key in run}
    # runs read before a metric existed lack it; a 3D variant ("chan2020@3d") shows its study's metrics
    metrics = [m for m in FIGURE_METRICS.get(study.split("@")[0], []) if m in present]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), constrained_layout=True)
    arms = list(by_arm)
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        data = [[run[metric] for run in by_arm[arm] if not np.isnan(run[metric])] for arm in arms]
        ax.boxplot([d if d else [np.nan] for d in data], showfliers=False)
        for i, d in enumerate(data, start=1):
            ax.scatter(np.full(len(d), i) + np.random.default_rng(i).uniform(-0.15, 0.15, len(d)), d, s=8,
                       alpha=0.6, color="k")
        ax.set_xticks(range(1, len(arms) + 1), [a.replace("_", "\n") for a in arms], fontsize=7)
        ax.set_title(metric.replace("_", " "))
    fig.suptitle(study)
    fig.savefig(out_png, dpi=90)
    plt.close(fig)


STATISTICS = """Statistics (frozen in each study's criteria file before the runs; abm/validate/inference.py):
one value per run (a run is the replicate; no counts pooled over runs), tested across runs.
Counts: negative binomial GLM (log link; Wald p, the model's interval of the rate ratio), or the
exact conditional Poisson test where an arm has no event. Continuous values: one-sided
Mann-Whitney, ratio of means with a BCa bootstrap interval. Yes/no per run: Fisher's exact test
(Newcombe interval of the share difference) or an exact binomial test against a declared share
(Clopper-Pearson). Times to an event: log-rank, runs without the event censored at their end.
Equivalence: two one-sided Welch t-tests on the log scale, the margin a declared fraction of a
reference contrast's own log effect. *Holm*: within each study's primary predictions (their own
dimension); a prediction passes only if its adjusted p is below the file's alpha. Secondary
endpoints, replications in the other dimension, calibrated and built-in criteria keep their raw
p and are not counted. *MDE*: the smallest true effect the test finds with 80 % power at the
family's strictest Holm threshold, from the comparison arm's observed mean and spread
(abm/validate/power.py). *Control*: the claim's effect with its mechanism minus without it (the
study's arms rerun with those rules ablated), with a BCa interval: *validated* needs that interval
on the claim's side of 0; an effect undefined with or without the mechanism is *not testable*,
never a failure."""


def _rows(checks) -> list[str]:
    rows = ["| result | study | dim | criterion | kind, role | measured | test | p | Holm | effect [95 % CI] "
            "| study figure | MDE | mechanism | control: with - without | robust: design points where the claim "
            "holds, assumed parameters +/-2x (docs/sensitivity) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in checks:
        kind = c.criterion.kind + (f" ({c.criterion.why})" if c.criterion.why else "") + f", {c.criterion.role}"
        rows.append(f"| {c.status} | {c.title} | {_dimension(c)} | {_name(c)} | {kind} | {c.measured} | "
                    f"{c.criterion.test} | {_p(c.inference.p)} | {_p(c.p_adjusted)} | {c.inference.text()} | "
                    f"{_figure_text(c)} | {c.mde} | {', '.join(c.criterion.mechanism) or '-'} | "
                    f"{_control_text(c)} | {robust_text(c.study, c.criterion.id, c.dimension)} |")
    return rows


def _design_lines(results, seeds_used) -> list[str]:
    """Each study's criteria file: its hash and whether it is the committed (frozen) version."""
    lines = ["## Design (criteria files)", "", "| study | file | SHA-256 | freeze | seeds per arm: design / used |",
             "|---|---|---|---|---|"]
    for study in dict.fromkeys(name.removesuffix("@3d") for name, _ in results):
        path = criteria_path(study)
        design = load_criteria(path)
        used = design.file_sha256  # the design the checks used, read at the validation's start
        lines.append(f"| {design.title} | configs/criteria/{path.name} | `{used}` | {freeze_status(path, used)} | "
                     f"{design.seeds_per_arm} / {seeds_used.get(study, '-')} |")
    return lines + [""]


def _write_metrics(path: Path, results) -> None:
    """One row per run; the columns every study's runs have between them (a stage's read-outs,
    "lung_seeding.<key>", only in its study's rows: empty elsewhere)."""
    rows = [{"study": study, "arm": arm, "seed": run.get("seed", index), "ablated": "+".join(ablated), **run}
            for (study, ablated), by_arm in results.items() for arm, runs in by_arm.items()
            for index, run in enumerate(runs)]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(key for row in rows for key in row)))
        writer.writeheader()
        writer.writerows(rows)


def write(out_dir, results, checks, command, quick, wall_s: float | None = None, sources=None) -> Path:
    """report.md, metrics.csv and a figure per study in out_dir. `sources`: lines naming the
    metrics files the values were read from (abm validate --from-metrics), else they come from runs."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_metrics(out_dir / "metrics.csv", results)
    seeds_used = {name: max(len(runs) for runs in by_arm.values()) for (name, ablated), by_arm in results.items()
                  if not ablated and "@" not in name}
    wall = f" Wall time {wall_s / 3600:.2f} h." if wall_s else ""
    lines = [f"# Validation report ({'quick' if quick else 'full'})", "",
             f"Generated {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')} by `{command}`.{wall}",
             *(["Every number below is computed from per-run values that `abm validate` measured from run files "
                "and saved in these metrics files (joined here into `metrics.csv`):", *sources] if sources else
               ["Every number below is measured from the runs' HDF5 files (per-run values: `metrics.csv`)."]), "",
             *_design_lines(results, seeds_used), STATISTICS, "", summary(checks), "", *_rows(checks), ""]
    for (study, ablated), by_arm in results.items():
        if ablated:
            continue
        png = out_dir / f"{study}.png"
        figure(study, by_arm, png)
        n = {arm: len(runs) for arm, runs in by_arm.items()}
        lines += [f"## {study}", "", f"Seeds per arm: {n}", "", f"![{study}]({png.name})", ""]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report
