"""What a calibration leaves in its folder: trials.csv, best.yaml, history.png, slices.png,
target_slices.png, report.md.

All are written from the per-trial read-out files (read_outs/trialNNNN.json), so they can be
rewritten at any time from what has finished.
"""
from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import yaml

from .driver import READ_OUTS


def finished_trials(folder: Path) -> list[dict]:
    """Every finished trial's record, in trial order."""
    files = sorted((folder / READ_OUTS).glob("trial*.json"))
    return [json.loads(path.read_text()) for path in files]


def trials_table(calibration, records: list[dict]):
    """One row per trial: parameters, each target's read-out and deviation, objective, error."""
    import pandas as pd

    rows = []
    for record in records:
        row = {"trial": record["trial"], "objective": record.get("objective", float("nan"))}
        row.update(record["parameters"])
        for name in calibration.spec.targets:
            row[f"{name}"] = record.get("read_outs", {}).get(name, float("nan"))
            row[f"{name}_deviation"] = record.get("deviations", {}).get(name, float("nan"))
        row["error"] = record.get("error", "")
        rows.append(row)
    return pd.DataFrame(rows)


def best_record(records: list[dict]) -> dict | None:
    """The finished trial of lowest objective (the first of equals)."""
    scored = [r for r in records if "objective" in r]
    return min(scored, key=lambda r: (r["objective"], r["trial"])) if scored else None


def seeds_text(seeds) -> str:
    return f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else f"{seeds[0]}"


def best_document(calibration, best: dict, n_trials: int) -> dict:
    targets = {}
    for name, target in calibration.spec.targets.items():
        deviation = best["deviations"][name]
        targets[name] = {"read_out": _plain(best["read_outs"][name]), "target": target.value,
                         "tolerance": target.tolerance, "log": target.log,
                         "deviation_in_tolerances": _plain(deviation), "met": abs(deviation) <= 1.0,
                         "standard_error": _plain(best["standard_errors"][name]), "source": target.source}
    return {"calibration": str(calibration.path), "trial": best["trial"], "objective": _plain(best["objective"]),
            "trials": n_trials, "seeds": seeds_text(calibration.seeds), "quick": calibration.quick,
            "date": date.today().isoformat(), "parameters": {k: _plain(v) for k, v in best["parameters"].items()},
            "targets": targets}


def _plain(value: float):
    value = float(value)
    return value if math.isfinite(value) else str(value)


def write_outputs(calibration, folder: Path, command: str) -> dict | None:
    """Write every output from the finished trials; returns best.yaml's content (None if none)."""
    from .plots import plot_history, plot_slices, plot_target_slices

    records = finished_trials(folder)
    table = trials_table(calibration, records)
    table.to_csv(folder / "trials.csv", index=False)
    best = best_record(records)
    document = best_document(calibration, best, len(records)) if best else None
    if document:
        (folder / "best.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        plot_history(table, folder / "history.png")
        plot_slices(calibration, table, folder / "slices.png")
        plot_target_slices(calibration, table, folder / "target_slices.png")
    (folder / "report.md").write_text(report(calibration, records, document, command))
    return document


def report(calibration, records: list[dict], best: dict | None, command: str) -> str:
    spec = calibration.spec
    failed = sum("error" in r for r in records)
    lines = [f"# Calibration {spec.name}", "", f"Command: `{command}`", "",
             f"- calibration file: `{calibration.path}`; parameter set: `{calibration.parameter_set.name}`",
             f"- seeds: {seeds_text(calibration.seeds)} ({len(calibration.seeds)} per arm; `abm validate` refuses "
             "these seeds)" + (" — **--quick: small runs, not a calibration to apply**" if calibration.quick else ""),
             f"- sampler: {spec.sampler.kind}, seed {spec.sampler.seed}, {spec.sampler.startup_trials} random startup "
             f"trials, batches of {spec.batch_size} (same seed and batch size: same trials)",
             f"- trials finished: {len(records)}" + (f" ({failed} failed: see trials.csv)" if failed else ""), ""]
    if best is None:
        return "\n".join(lines + ["No trial has finished yet."]) + "\n"
    lines += [f"## Best trial: {best['trial']} (objective {best['objective']:.4g})", "",
              "Objective: sum over targets of weight x ((read-out - target) / tolerance)^2, with logarithms for "
              "targets on a log scale; a target missed by one tolerance adds 1.", "",
              "| parameter | best | bounds |", "|---|---|---|"]
    for key, value in best["parameters"].items():
        p = spec.parameters[key]
        lines.append(f"| `{key}` | {value:.4g} | {p.low:g} - {p.high:g}{' (log)' if p.log else ''} |")
    lines += ["", "| target | study / arm | read-out | target | tolerance | deviation (tolerances) | met | source |",
              "|---|---|---|---|---|---|---|---|"]
    for name, t in best["targets"].items():
        target = spec.targets[name]
        arm = target.arm + (f" / {target.reference_arm}" if target.reference_arm else "")
        se = t["standard_error"]
        shown = f"{_number(t['read_out'])}" + (f" ± {se:.2g} (SE)" if isinstance(se, float) else "")
        lines.append(f"| {name} | {target.study} {arm} | {shown} | {target.value:g} | {target.tolerance:g}"
                     f"{' (log)' if target.log else ''} | {_number(t['deviation_in_tolerances'])} | "
                     f"{'yes' if t['met'] else '**no**'} | {target.source} |")
    lines += ["", "## Diagnostics", "",
              "- `history.png`: the objective of every trial and the running best.",
              "- `slices.png`: the objective against each parameter. **Identifiability:** a flat slice means the "
              "targets do not pin that parameter (any value in its bounds fits as well); a narrow valley means they "
              "do. Read a best value only as far as its slice constrains it.",
              "- `target_slices.png`: each target's deviation against each parameter: which target pins which "
              "parameter, and which parameters trade off against each other.",
              "- The read-outs are means over the calibration seeds: a target met within its seed-to-seed standard "
              "error is met only to that precision."]
    unfitted = _unfitted_calibrated(calibration)
    if unfitted:
        lines += ["", "Labelled calibrated in the parameter set but not fitted by this file: "
                  + ", ".join(f"`{key}`" for key in unfitted) + "."]
    return "\n".join(lines) + "\n"


def _number(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _unfitted_calibrated(calibration) -> list[str]:
    from ..config.parameters import load_parameter_set

    labelled = [p.key for p in load_parameter_set(calibration.parameter_set).labelled("calibrated")]
    return [key for key in labelled if key not in calibration.spec.parameters]
