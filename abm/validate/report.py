"""The validation report: a pass/fail table on the terminal, Markdown with PNG figures on disk."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

FIGURE_METRICS = {
    "chan2020": ["caspase_any", "inverse_circularity", "cells_outside_organoid", "colonies", "kills"],
    "lo2020": ["lesions", "polyclonal_lesions", "tumor_final", "kills"],
    "correia2021": ["lesions", "largest_lesion_ever", "first_outgrowth_h", "nk_final"],
    "szczerba2019": ["lesion_burden", "ki67_all_24h", "ki67_neutrophil_clusters_24h", "tumor_final"],
    "nw2025_seeding": ["lesions", "seeded_tumor_cells", "lesion_burden", "tumor_final"],
    "nw2025_clustering": ["clusters_final", "lesion_burden", "lesions", "tumor_final"],
}


def _verdict(c, quick: bool) -> str:
    if not c.passed and quick and not c.quick:
        return "not required (quick)"
    return c.status


def _control_text(c) -> str:
    if not c.mechanism:
        return "no control"
    if c.control_passed is None:
        return f"without {', '.join(c.mechanism)}: not run"
    return f"without {', '.join(c.mechanism)}: {'passes' if c.control_passed else 'fails'} ({c.control_measured})"


def _p(value) -> str:
    return "-" if value is None else f"{value:.3g}"


def _p_text(c) -> str:
    """The test's raw p and, for a prediction, its Holm-adjusted p; "" for a check that is not a test."""
    if c.p is None:
        return ""
    return f"p = {_p(c.p)}" + (f", Holm {_p(c.p_adjusted)}" if c.p_adjusted is not None else "")


def _effect_text(c) -> str:
    return "-" if c.effect is None else c.effect.text()


def _summary(checks, quick=False) -> str:
    counted = [c for c in checks if c.kind == "prediction"]
    validated = sum(c.status == "validated" for c in counted)
    without = sum(c.status == "passes without its mechanism" for c in counted)
    no_control = sum(c.status == "PASS" for c in counted)
    failed = sum(not c.passed and (c.quick or not quick) for c in counted)  # --quick: only what it requires
    missed = sum(not c.passed for c in checks if c not in counted)
    return (f"Summary: {len(checks)} criteria; {len(checks) - len(counted)} calibrated or built-in (not counted; "
            f"{missed} of them miss their target); of the {len(counted)} predictions, {validated} validated (pass, "
            f"and fail without their mechanism), {without} pass without their mechanism, {no_control} pass with no "
            f"control run (3D), {failed} fail.")


def table(checks, quick=False) -> str:
    width = max(len(c.criterion) for c in checks) if checks else 10
    lines = []
    for c in checks:
        verdict = _verdict(c, quick)
        tested = f"  [{c.test}: {_p_text(c)}]" if c.test else ""
        effect = f"  [{_effect_text(c)} vs study {c.effect.study_text()}]" if c.effect and c.effect.study else ""
        lines.append(f"{verdict:<28}  {c.study:<22} {c.criterion:<{width}}  {c.measured}  [target: {c.target}]"
                     f"{tested}{effect}  [{_control_text(c)}]")
    lines.append(_summary(checks, quick))
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


STATISTICS = (
    "Statistics: one value per run (a run is the replicate; no counts pooled over runs), tested across runs. "
    "*p*: the test's raw p; *Holm*: adjusted with every prediction's p in this report together (Holm), "
    "and a prediction passes only if that is below 0.05. Calibrated and built-in criteria keep their raw p; "
    "checks that are not tests (thresholds, shares) have none. A negative control is decided on its raw p "
    "(a stricter bar for *validated*). *effect*: the model's estimate with a 95 % percentile bootstrap CI "
    "(runs resampled within each arm, fixed seed), beside the study's own figure where it gave one.")


def _rows(checks, quick) -> list[str]:
    rows = ["| result | study | criterion | measured | target | test | p | Holm | effect [95 % CI] | study figure "
            "| mechanism | without it |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in checks:
        without = "" if c.control_passed is None else (
            f"{'passes' if c.control_passed else 'fails'}: {c.control_measured}")
        verdict = _verdict(c, quick) + (f": {c.why}" if c.why else "")
        study_figure = c.effect.study_text() if c.effect else "-"
        rows.append(f"| {verdict} | {c.study} | {c.criterion} | {c.measured} | {c.target} | {c.test or '-'} | "
                    f"{_p(c.p)} | {_p(c.p_adjusted)} | {_effect_text(c)} | {study_figure} | "
                    f"{', '.join(c.mechanism) or '-'} | {without or '-'} |")
    return rows


def write(out_dir, results, checks, command, quick) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "metrics.csv", "w", newline="") as handle:
        writer = None
        for (study, ablated), by_arm in results.items():
            for arm, runs in by_arm.items():
                for index, run in enumerate(runs):
                    row = {"study": study, "arm": arm, "seed": run.get("seed", index), "ablated": "+".join(ablated), **run}
                    if writer is None:
                        writer = csv.DictWriter(handle, fieldnames=list(row))
                        writer.writeheader()
                    writer.writerow(row)
    lines = [f"# Validation report ({'quick' if quick else 'full'})", "",
             f"Generated {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')} by `{command}`.",
             "Every number below is measured from the runs' HDF5 files (per-run values: `metrics.csv`).",
             "Negative control: the study's arms rerun with the rules the criterion rests on switched off "
             "(`ablate`, abm/validate/mechanisms.py). *validated*: passes with its mechanism and fails "
             "without it; *passes without its mechanism*: the criterion does not test that mechanism; "
             "*calibrated* (fitted to this target on these seeds) and *built-in* (true by construction) are "
             "shown, not counted as validation (abm/validate/mechanisms.py says why for each).", "",
             STATISTICS, "", _summary(checks, quick), "", *_rows(checks, quick), ""]
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
