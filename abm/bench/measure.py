"""The measurements of abm bench: minimal rules against Mesa, diffusion, whole scenarios.

Every figure is computed in this process on the backend at hand; see abm/bench/__init__.py for
what each one means and its units. Model runs take WARMUP_STEPS untimed steps first (compilation,
caches, first allocations), then at least Plan.min_steps steps and Plan.min_seconds seconds.
"""
from __future__ import annotations

import gc

import importlib.util
import inspect
import math
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import numpy as np

from . import report

SCENARIOS = ("configs/chan2020_organoid.yaml", "configs/correia2021_liver.yaml")
PHASE_SCENARIO = "configs/correia2021_liver.yaml"  # also the 3D run and the phase/memory profile
MINIMAL = "configs/minimal_rules.yaml"
WARMUP_STEPS = 2
MESA_MAX_SITES = 1_000_000  # Mesa needs ~25 s to build and ~1 s per step at 1000^2; larger is not timed
DIFFUSION = dict(dx_um=20.0, dt_min=6.0, diffusion_um2_per_min=600.0, decay_per_min=0.005)
RUNS = {"time.duration_h": 1e6}  # never stop on the configured duration


@dataclass
class Plan:
    """Sizes and timing budgets. Timing: at least min_steps steps and min_seconds, at most max_steps."""

    minimal_shapes: list
    diffusion_shapes: list
    scenario_factors: list  # lattice sites relative to the config's own (2D)
    scenario_3d: list | None
    min_steps: int = 5
    min_seconds: float = 2.0
    max_steps: int = 200  # per model: 20 h of minimal rules, the population grows ~1.6x
    max_repeats: int = 20
    diffusion_min_seconds: float = 1.0
    phase_steps: int = 5
    mesa_min_seconds: float = 1.0
    mesa_steps: int | None = None  # None: by size (20 up to 100^2, 5 up to ~316^2, else 3)
    large_runs: list | None = None  # (3D shape, tumor cells, NK cells); None: bench/large.py by backend
    large_steps: int = 5
    startup_repeats: int = 5  # timed start-ups of each command (bench/startup.py), after one untimed


def make_plan(quick: bool = False, gpu: bool = False, tiny: bool = False, goals: bool = False) -> Plan:
    if goals:  # the GPU goals only (abm bench --goals): minutes, for a lent GPU's short budget
        return Plan([[4096, 4096]], [[256] * 3, [512] * 3], [1], None, max_steps=100, max_repeats=5,
                    large_runs=[([256, 256, 256], 1_000_000, 100_000)])
    if tiny:  # the test's plan: seconds on two cores, every code path
        return Plan([[20, 20], [30, 30]], [[8, 8, 8], [12, 12, 12]], [1, 2], [12, 12, 12], min_steps=2,
                    min_seconds=0.0, max_steps=2, max_repeats=1, diffusion_min_seconds=0.0, phase_steps=2,
                    mesa_min_seconds=0.0, mesa_steps=2, large_runs=[([16, 16, 16], 400, 40)], large_steps=2,
                    startup_repeats=1)
    if quick:
        return Plan([[100, 100], [300, 300]], [[64] * 3, [100] * 3], [1], [32, 32, 32], min_steps=3,
                    min_seconds=0.5, max_steps=100, max_repeats=5, diffusion_min_seconds=0.3, phase_steps=3,
                    mesa_min_seconds=0.3, large_runs=[([48, 48, 48], 10_000, 1_000)], large_steps=2,
                    startup_repeats=3)
    plan = Plan([[100, 100], [300, 300], [1000, 1000]], [[64] * 3, [100] * 3, [128] * 3, [256] * 3],
                [1, 2, 4], [64, 64, 64])
    if gpu:
        plan.minimal_shapes += [[2048, 2048], [4096, 4096]]
        plan.diffusion_shapes += [[384] * 3, [512] * 3]
        plan.scenario_factors += [16, 64, 256]
        plan.scenario_3d = [128, 128, 128]
    return plan


# ---------------------------------------------------------------------- helpers


def repo_root() -> Path:
    """The repository holding this package (configs/, benchmarks/), else the working directory."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "configs").is_dir() else Path.cwd()


def synchronise(xp) -> None:
    """Wait for queued GPU work, so that a clock read after it counts it; nothing on the CPU."""
    if xp is not np:
        xp.cuda.Device().synchronize()


def sites_of(shape) -> int:
    """Number of lattice sites of a shape."""
    return int(math.prod(shape))


def build_model(config: str, shape, device: str):
    from .. import TissueModel

    return TissueModel(str(repo_root() / config), device=device, overrides={**RUNS, "lattice.shape": list(shape)})


_PRIMED: set = set()


def prime(config: str, device: str, ndim: int = 2) -> None:
    """Run a workload untimed on a small lattice, once per process and config.

    Compiled kernels are compiled or loaded from numba's cache on their first call, and some are
    first called only at the first death or division: without priming that would fall into a
    timed step (tens of milliseconds against a 0.1 ms step at 100^2). A failure here is left to
    the timed run to report.
    """
    if (config, device, ndim) in _PRIMED:
        return
    _PRIMED.add((config, device, ndim))
    try:
        build_model(config, [60, 60] if ndim == 2 else [16, 16, 16], device).run(20 if ndim == 2 else 5)
    except Exception:  # noqa: BLE001
        pass


def time_steps(build, plan: Plan) -> dict:
    """Steps/s and agent-steps/s of the models build() returns, each after WARMUP_STEPS warm-up steps.

    One model runs at least min_steps and at most max_steps timed steps; while less than
    min_seconds have been timed, a fresh model is built and timed too (at most max_repeats), so
    that a fast step is timed long enough without the population drifting far from its start.
    agents: live agents at the start of the first timed step. agent_steps_per_s is over all
    timed steps; agent_steps_per_s_by_repeat and best_agent_steps_per_s show the spread (on a
    shared machine the fastest repeat is the least disturbed one).
    """
    steps = agent_steps = repeats = 0
    seconds, first, per_repeat = 0.0, {}, []
    while repeats == 0 or (seconds < plan.min_seconds and repeats < plan.max_repeats):
        start = perf_counter()
        model = build()
        first = first or {"build_seconds": perf_counter() - start}
        model.run(WARMUP_STEPS)
        synchronise(model.xp)
        first.setdefault("agents", model.n_cells)
        gc.freeze()  # as `abm run` does while it steps (abm/runner.py)
        done, counted, start = 0, 0, perf_counter()
        while done < plan.min_steps or (done < plan.max_steps and seconds + perf_counter() - start < plan.min_seconds):
            counted += model.n_cells
            model.step()
            done += 1
        synchronise(model.xp)
        elapsed = perf_counter() - start
        per_repeat.append(counted / elapsed)
        seconds, steps, repeats, agent_steps = seconds + elapsed, steps + done, repeats + 1, agent_steps + counted
        gc.unfreeze()
        del model
    return {**first, "repeats": repeats, "steps": steps, "seconds": seconds, "steps_per_s": steps / seconds,
            "seconds_per_step": seconds / steps, "agent_steps_per_s": agent_steps / seconds,
            "agent_steps_per_s_by_repeat": per_repeat, "best_agent_steps_per_s": max(per_repeat)}


# ---------------------------------------------------------------------- 1. minimal rules vs Mesa


def load_mesa_reference():
    """(module, None) or (None, reason): benchmarks/mesa_reference.py imported by file path."""
    path = repo_root() / "benchmarks" / "mesa_reference.py"
    if not path.is_file():
        return None, f"{path} not found"
    try:
        spec = importlib.util.spec_from_file_location("abm_bench_mesa_reference", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - mesa missing (ImportError), or a broken file
        return None, f"cannot import the Mesa reference: {error.__class__.__name__}: {error}"
    if not hasattr(module, "agent_steps_per_second"):
        return None, f"{path} has no agent_steps_per_second()"
    return module, None


def mesa_speed(reference, shape, plan: Plan) -> dict:
    """Mesa agent-steps/s at `shape`: few steps on large lattices (1000^2: ~1 step/s)."""
    sites = sites_of(shape)
    steps = plan.mesa_steps or (20 if sites <= 10_000 else 5 if sites <= 100_000 else 3)
    wanted = {"shape": list(shape), "steps": steps, "seed": 1, "min_seconds": plan.mesa_min_seconds}
    accepted = inspect.signature(reference.agent_steps_per_second).parameters
    return reference.agent_steps_per_second(**{k: v for k, v in wanted.items() if k in accepted})


def bench_minimal(plan: Plan, device: str, mesa: bool, log) -> list[dict]:
    reference, why_not = load_mesa_reference() if mesa else (None, "not run (--no-mesa)")
    log(report.HEADERS["minimal"])
    rows = []
    prime(MINIMAL, device)
    for shape in plan.minimal_shapes:
        row = {"shape": list(shape), "sites": sites_of(shape),
               **time_steps(lambda: build_model(MINIMAL, shape, device), plan),
               "mesa": None, "mesa_skipped": why_not, "ratio_ours_over_mesa": None}
        if reference is not None and row["sites"] > MESA_MAX_SITES:
            row["mesa_skipped"] = f"not timed above {MESA_MAX_SITES:,} sites (too slow)"
        elif reference is not None:
            try:
                row["mesa"], row["mesa_skipped"] = mesa_speed(reference, shape, plan), None
                row["ratio_ours_over_mesa"] = row["agent_steps_per_s"] / row["mesa"]["agent_steps_per_s"]
            except Exception as error:  # noqa: BLE001 - a broken reference must not lose our numbers
                row["mesa_skipped"] = f"Mesa run failed: {error.__class__.__name__}: {error}"
        log(report.minimal_line(row))
        rows.append(row)
    for reason in dict.fromkeys(row["mesa_skipped"] for row in rows if row["mesa_skipped"]):
        log(f"  Mesa: {reason}")
    return rows


# ---------------------------------------------------------------------- 2. diffusion


def gpu_peak_bandwidth(xp) -> tuple[float | None, str | None]:
    """(bytes/s, None) from the device's memory clock (kHz) and bus width (bits), else (None, why)."""
    if xp is np:
        return None, "CPU: no peak bandwidth figure"
    try:
        attributes = xp.cuda.Device().attributes
        clock_khz, bus_bits = attributes.get("MemoryClockRate"), attributes.get("GlobalMemoryBusWidth")
        if not clock_khz or not bus_bits:
            props = xp.cuda.runtime.getDeviceProperties(xp.cuda.Device().id)
            clock_khz, bus_bits = props.get("memoryClockRate"), props.get("memoryBusWidth")
        if not clock_khz or not bus_bits:
            return None, "the device reports no memory clock rate or bus width"
        return clock_khz * 1e3 * 2 * bus_bits / 8, None
    except Exception as error:  # noqa: BLE001
        return None, f"device attributes unavailable: {error}"


def bench_diffusion(plan: Plan, xp, log) -> dict:
    from ..kernels.diffusion import DiffusionOperator

    peak, why_no_peak = gpu_peak_bandwidth(xp)
    log(report.HEADERS["diffusion"])
    rows = []
    for shape in plan.diffusion_shapes:
        operator = DiffusionOperator(tuple(shape), **DIFFUSION)
        values = xp.asarray(np.random.default_rng(0).random(tuple(shape), dtype=np.float32))
        operator.step(values, xp=xp)  # warm-up: compilation, caches
        synchronise(xp)
        times, start_all = [], perf_counter()
        while len(times) < 3 or (len(times) < 200 and perf_counter() - start_all < plan.diffusion_min_seconds):
            start = perf_counter()
            operator.step(values, xp=xp)
            synchronise(xp)
            times.append(perf_counter() - start)
        seconds = float(np.median(times))
        sites, axes = sites_of(shape), sum(1 for n in shape if n > 1)
        bytes_per_step = 4 * 4 * sites * axes
        row = {"shape": list(shape), "sites": sites, "repeats": len(times), "seconds_per_step": seconds,
               "voxel_updates_per_s": sites / seconds, "bytes_per_step": bytes_per_step,
               "achieved_GB_per_s": bytes_per_step / seconds / 1e9,
               "percent_of_peak": 100 * bytes_per_step / seconds / peak if peak else None}
        rows.append(row)
        log(report.diffusion_line(row))
    if peak:
        log(f"  peak memory bandwidth {peak / 1e9:.0f} GB/s")
    return {"parameters": DIFFUSION, "dtype": "float32",
            "bytes_model": "per axis sweep: forward pass reads+writes the field once, backward pass once: "
                           "4 x 4 bytes x sites per axis (axes longer than 1)",
            "peak_GB_per_s": peak / 1e9 if peak else None, "peak_unavailable": why_no_peak, "rows": rows}


# ---------------------------------------------------------------------- 3. scenarios


def scenario_shapes(config: str, factors) -> list[list[int]]:
    """The config's 2D lattice scaled to `factor` times its sites (each side times sqrt(factor))."""
    from ..config.sections import load_config

    own = load_config(str(repo_root() / config))[0].lattice.shape
    return [[int(round(n * math.sqrt(f))) for n in own] for f in factors]


def bench_scenarios(plan: Plan, device: str, log) -> dict:
    log(report.HEADERS["scenarios"])
    runs = [(config, shape) for config in SCENARIOS for shape in scenario_shapes(config, plan.scenario_factors)]
    if plan.scenario_3d:
        runs.append((PHASE_SCENARIO, plan.scenario_3d))
    rows, skipped = [], []
    for config, shape in runs:
        name = Path(config).stem
        prime(config, device, len(shape))
        try:
            fields = sorted(build_model(config, shape, device).fields)
        except Exception as error:  # noqa: BLE001 - e.g. a placement that does not fit this lattice
            skipped.append({"config": config, "shape": list(shape), "reason": f"{error.__class__.__name__}: {error}"})
            log(f"  {name:>17} {report.shape_text(shape):>11} skipped: {error}")
            continue
        row = {"config": config, "name": name, "shape": list(shape), "sites": sites_of(shape), "ndim": len(shape),
               "fields": fields, **time_steps(lambda: build_model(config, shape, device), plan)}
        rows.append(row)
        log(report.scenario_line(row))
    return {"rows": rows, "skipped": skipped}
