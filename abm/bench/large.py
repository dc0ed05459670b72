"""The large runs of the performance goals: the full liver scenario (three fields, tumor, NK
and the general step) on a 3D lattice with a given number of cells.

GPU goals (issue 6): 256^3 with >= 1 M cells at >= 200 steps/s; 1024^3 with 100 M cells fits
on one H200. A run that does not fit is not an error here: the model refuses it before
allocating (abm/core/model.py, _check_memory) and the reason is recorded. Reported per run:
steps/s, the memory the model holds per lattice site and per agent, and the device's use.
"""
from __future__ import annotations

import gc
from pathlib import Path
from time import perf_counter

from .measure import PHASE_SCENARIO, RUNS, WARMUP_STEPS, repo_root, sites_of, synchronise
from .profile import memory_report

CPU_RUNS = [([96, 96, 96], 100_000, 10_000)]  # the machinery, at a size two cores step in seconds
GPU_RUNS = [([256, 256, 256], 1_000_000, 100_000), ([1024, 1024, 1024], 100_000_000, 1_000_000)]


def large_overrides(shape, tumor: int, nk: int) -> dict:
    return {**RUNS, "lattice.shape": list(shape),
            "placement": [{"pattern": "scatter", "cell_type": "tumor", "count": int(tumor)},
                          {"pattern": "scatter", "cell_type": "nk", "count": int(nk)}]}


def bench_large(runs, device: str, steps: int, log) -> dict:
    from .. import TissueModel
    from ..errors import AbmError

    log("\nlarge runs: correia2021_liver (3 fields, general step), cells scattered over a 3D lattice")
    rows, skipped = [], []
    for shape, tumor, nk in runs:
        label = f"{'x'.join(map(str, shape))}, {tumor + nk:,} cells"
        start = perf_counter()
        try:
            model = TissueModel(str(repo_root() / PHASE_SCENARIO), device=device,
                                overrides=large_overrides(shape, tumor, nk))
        except (AbmError, MemoryError) as error:
            skipped.append({"shape": list(shape), "cells": tumor + nk, "reason": str(error)})
            log(f"  {label}: does not run here: {error}")
            continue
        build_seconds = perf_counter() - start
        failure = None
        try:  # a run that fits when built can still run out of device memory in its first steps
            model.run(WARMUP_STEPS)
            synchronise(model.xp)
            agents, start = model.n_cells, perf_counter()
            model.run(steps)
            synchronise(model.xp)
            seconds = perf_counter() - start
            memory = memory_report(model)
        except Exception as error:  # noqa: BLE001 - e.g. cupy OutOfMemoryError: record it, keep the other numbers
            failure = f"failed while stepping: {error.__class__.__name__}: {error}"
        xp, fields = model.xp, sorted(model.fields)
        del model
        _free_device_memory(xp)
        if failure:
            skipped.append({"shape": list(shape), "cells": tumor + nk, "reason": failure})
            log(f"  {label}: {failure}")
            continue
        row = {"config": PHASE_SCENARIO, "name": Path(PHASE_SCENARIO).stem, "shape": list(shape),
               "sites": sites_of(shape), "agents": agents, "fields": fields, "steps": steps,
               "seconds": seconds, "steps_per_s": steps / seconds, "agent_steps_per_s": agents * steps / seconds,
               "build_seconds": build_seconds, "memory": memory}
        rows.append(row)
        held = memory.get("gpu_pool_used_bytes") or memory.get("peak_rss_bytes") or 0
        log(f"  {label}: {row['steps_per_s']:.3g} steps/s ({row['agent_steps_per_s']:.3g} agent-steps/s); "
            f"{memory['per_site_bytes']['total']:.0f} B/site, {memory['per_agent_bytes']['total']:.0f} B/agent; "
            f"{held / 2**30:.1f} GiB held; built in {build_seconds:.0f} s")
    return {"rows": rows, "skipped": skipped}


def _free_device_memory(xp) -> None:
    """After the model is dropped: collect its reference cycles (a Mesa model holds some) and, on
    a GPU, hand the pool's blocks back before the next, larger run."""
    gc.collect()
    if hasattr(xp, "get_default_memory_pool"):
        xp.get_default_memory_pool().free_all_blocks()
