#!/usr/bin/env python
"""Generate the table of README.md's Performance section from committed benchmark results.

Every figure in the table is read from the results files named below (JSON written by
`abm bench`), so the README cannot drift from what was measured. Only the part of README.md
between the markers is rewritten; tests/test_performance_table.py fails when it is stale.

    python scripts/performance_table.py           # rewrite the table in README.md
    python scripts/performance_table.py --check   # exit 1 if README.md is out of date
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# Three full runs on one machine and day at the same code (the git commit is in each file): the
# shared virtual machine's speed drifts, so all are shown.
RESULTS = ["benchmarks/results/2026-11-22-cpu-2core-bench-run5.json", "benchmarks/results/2026-11-22-cpu-2core-bench-run6.json",
           "benchmarks/results/2026-11-22-cpu-2core-bench-run7.json"]
# What a step of the GPU code path asks of the device, counted on the host (benchmarks/gpu_step_work.py).
GPU_STEP_WORK = "benchmarks/results/2026-12-07-gpu-path-step-work-skip-empty-types.json"
BEGIN = "<!-- BEGIN PERFORMANCE TABLE (scripts/performance_table.py) -->"
END = "<!-- END PERFORMANCE TABLE -->"
BIOFVM_100 = 4.0e7  # BioFVM (PhysiCell 1.14.2), 100^3 x 2 substrates, 2 OpenMP threads: issue 6's reference
# Results written while the minimal rules had a fused step record step_path ("fused" or "general");
# later ones have none: every run takes the general step.


def _shape(shape) -> str:
    return "x".join(str(n) for n in shape)


def _best(row: dict) -> str:
    best = row.get("best_agent_steps_per_s")
    return f" (best repeat {best:.2e})" if best else ""


def _rows(results: dict, source: str) -> list[str]:
    device = f"{results['host']['cpu']}, {results['host']['cores']} cores" if results["device"] == "cpu" \
        else results["backend"]
    rows = [f"| **{device}** ([{Path(source).name}]({source})) | | | | |"]
    for row in results.get("minimal", {}).get("rows", []):
        mesa = row.get("mesa") or {}
        rows.append(f"| minimal rules, {_shape(row['shape'])}, {row['agents']:,} cells ({row.get('step_path', 'general')} step) "
                    f"| {row['agent_steps_per_s']:.2e} agent-steps/s{_best(row)} "
                    f"| Mesa {mesa.get('agent_steps_per_s', float('nan')):.2e} "
                    f"| {row['ratio_ours_over_mesa']:.0f}x | {row['steps_per_s']:.3g} steps/s |"
                    if mesa else
                    f"| minimal rules, {_shape(row['shape'])}, {row['agents']:,} cells ({row.get('step_path', 'general')} step) "
                    f"| {row['agent_steps_per_s']:.2e} agent-steps/s | - | - | {row['steps_per_s']:.3g} steps/s |")
    for row in results.get("diffusion", {}).get("rows", []):
        versus = f"BioFVM {BIOFVM_100:.1e} (100^3) | {row['voxel_updates_per_s'] / BIOFVM_100:.1f}x" \
            if row["shape"] == [100, 100, 100] else "| -"
        peak = f", {row['percent_of_peak']:.0f} % of peak bandwidth" if row.get("percent_of_peak") else ""
        rows.append(f"| diffusion, {_shape(row['shape'])}, one float32 field | {row['voxel_updates_per_s']:.2e} "
                    f"voxel-updates/s | {versus} | {1e3 * row['seconds_per_step']:.2f} ms/step{peak} |")
    for row in results.get("scenarios", {}).get("rows", []):
        rows.append(f"| {row['name']}, {_shape(row['shape'])}, {row['agents']:,} cells, fields "
                    f"{', '.join(row['fields'])} | {row['steps_per_s']:.3g} steps/s | - | - | general step |")
    for row in results.get("large", {}).get("rows", []):
        memory = row["memory"]
        rows.append(f"| {row['name']}, {_shape(row['shape'])}, {row['agents']:,} cells, 3 fields "
                    f"| {row['steps_per_s']:.3g} steps/s | - | - | {memory['per_site_bytes']['total']:.0f} B/site, "
                    f"{memory['per_agent_bytes']['total']:.0f} B/cell |")
    for row in results.get("large", {}).get("skipped", []):
        rows.append(f"| liver, {_shape(row['shape'])}, {row['cells']:,} cells | does not fit: {row['reason']} | | | |")
    slopes = results.get("scaling", {})
    text = ", ".join(f"{name} {fit['slope_largest_pair']:.2f}" for name, fit in slopes.items()
                     if fit.get("slope_largest_pair") is not None and fit["points"] >= 3)
    rows.append(f"| cost vs lattice sites (log-log slope, largest pair; 1 = linear) | {text} | | | |")
    return rows


def _gpu_step_work() -> list[str]:
    work = json.loads((ROOT / GPU_STEP_WORK).read_text())
    lines = ["", f"GPU code path, per step, counted on the host ([{Path(GPU_STEP_WORK).name}]({GPU_STEP_WORK})):", "",
             "| scenario | host synchronisations per step | kernel launches (array operations) per step |",
             "|---|---|---|"]
    for row in work["scenarios"]:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(row["host_syncs_by_kind"].items()))
        lines.append(f"| {row['scenario']} | {row['host_syncs_per_step']} ({kinds}) | {row['array_operations_per_step']} |")
    return lines


def table() -> str:
    lines = ["| workload | ours | reference | ours / reference | notes |", "|---|---|---|---|---|"]
    for source in RESULTS:
        lines += _rows(json.loads((ROOT / source).read_text()), source)
    return "\n".join(lines + _gpu_step_work())


def rendered(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + table() + "\n" + text[end:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    args = parser.parse_args(argv)
    text = README.read_text()
    new = rendered(text)
    if args.check:
        if new != text:
            print("README.md: the performance table is out of date; run python scripts/performance_table.py")
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
