"""Running abm bench: the sections in order, the JSON and the plot (figures: abm/bench/__init__.py)."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shlex
import sys
from pathlib import Path
from time import perf_counter

from . import SECTIONS
from .measure import MINIMAL, WARMUP_STEPS, Plan, bench_diffusion, bench_minimal, bench_scenarios, make_plan, repo_root
from .profile import bench_phases_and_memory, peak_rss_bytes
from .report import plot_scaling, scaling_slopes, scaling_text


def host_info() -> dict:
    """CPU model, cores, library versions, and the load at the start (other jobs make numbers noisy)."""
    from ..kernels import _numba

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {}
    for package in ("numpy", "numba", "cupy", "mesa", "matplotlib"):
        try:
            versions[package] = __import__(package).__version__
        except Exception:  # noqa: BLE001 - not installed, or unusable
            versions[package] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)),
            "machine": platform.machine(), "system": platform.platform(), "python": platform.python_version(),
            **versions, "compiled_cpu_kernels": _numba.describe(), "load_average_at_start": list(os.getloadavg())}


def device_slug(backend, host: dict) -> str:
    """'cpu-2core' on the CPU, the GPU's name on a GPU (e.g. 'nvidia-h100-80gb-hbm3')."""
    if backend.name == "cpu":
        return f"cpu-{host['cores']}core"
    name = re.search(r",\s*([^,]+)\)$", backend.description)
    return re.sub(r"[^a-z0-9]+", "-", (name.group(1) if name else "gpu").lower()).strip("-")


def run_benchmark(device: str = "auto", quick: bool = False, sections=SECTIONS, mesa: bool = True,
                  out: str | Path | None = None, plot: str | Path | None = None, plan: Plan | None = None,
                  command: str | None = None, log=None) -> dict:
    """Run the chosen sections, print a table as it goes, write the JSON and the scaling plot.

    plan: explicit sizes and timing budgets (default make_plan(quick, on a GPU)). Returns the
    results as written, plus "json": the path written.
    """
    from .._version import __version__
    from ..core.backend import select_backend
    from ..io.provenance import git_commit

    log = log or (lambda line: print(line, flush=True))
    backend = select_backend(device)
    gpu = backend.name == "gpu"
    plan = plan or make_plan(quick, gpu)
    host = host_info()
    slug = device_slug(backend, host)
    name = f"{dt.date.today().isoformat()}-{slug}-bench{'-quick' if quick else ''}.json"
    out = Path(out) if out else repo_root() / "benchmarks" / "results" / name
    plot = Path(plot) if plot else out.with_suffix(".png")
    results = {"benchmark": "abm bench", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "command": command or shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
               "package_version": __version__, "git_commit": git_commit(), "host": host, "device": backend.name,
               "device_slug": slug, "backend": backend.description, "quick": quick, "sections": list(sections),
               "plan": dict(plan.__dict__), "warmup_steps": WARMUP_STEPS, "section_seconds": {},
               "priming": "each workload first runs untimed on a 60x60 (3D: 16^3) lattice, once per process, "
                          "so that kernel compilation and cache loads fall outside the timed steps"}
    log(f"abm bench: {backend.description}; {host['cpu']}, {host['cores']} cores; {host['compiled_cpu_kernels']}; "
        f"load average {host['load_average_at_start'][0]:.1f}")
    clock = perf_counter()

    def done(section):  # wall seconds of each section, building models and warm-up included
        nonlocal clock
        results["section_seconds"][section], clock = perf_counter() - clock, perf_counter()
        # The sections so far, marked incomplete: a crash or a kill later loses nothing measured.
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({**results, "complete": False}, indent=2) + "\n")

    _run_sections(results, sections, plan, backend, mesa, log, done)
    results["host"]["load_average_at_end"] = list(os.getloadavg())
    results["scaling"] = scaling_slopes(results)
    results["peak_rss_bytes"] = peak_rss_bytes()
    if gpu:
        results["gpu_pool_used_bytes"] = backend.xp.get_default_memory_pool().used_bytes()
    try:
        results["plot"] = str(plot) if plot_scaling(results, plot) else None
    except Exception as error:  # noqa: BLE001 - a failed plot must not lose the numbers
        results["plot"], results["plot_error"] = None, f"{error.__class__.__name__}: {error}"
    if results["scaling"]:  # none from the start-up section alone
        log(scaling_text(results["scaling"]))
    results["complete"] = True
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    log(f"\nwrote {out}" + (f"\nwrote {plot}" if results["plot"] else ""))
    return {**results, "json": str(out)}


def _run_sections(results: dict, sections, plan: Plan, backend, mesa: bool, log, done) -> None:
    """Each chosen section's figures into results; done(section) after each (saves the JSON)."""
    if "startup" in sections:  # first: whole processes, before this one holds models and memory
        from .startup import bench_startup

        results["startup"] = bench_startup(plan.startup_repeats, backend.name, log)
        done("startup")
    if "minimal" in sections:
        results["minimal"] = {"config": MINIMAL, "rows": bench_minimal(plan, backend.name, mesa, log)}
        done("minimal")
    if "diffusion" in sections:
        results["diffusion"] = bench_diffusion(plan, backend.xp, log)
        done("diffusion")
    if "scenarios" in sections:
        results["scenarios"] = bench_scenarios(plan, backend.name, log)
        done("scenarios")
    if "phases" in sections or "memory" in sections:
        phases, memory = bench_phases_and_memory(plan, backend.name, sections, log)
        results.update({"phases": phases} if "phases" in sections else {})
        results.update({"memory": memory} if "memory" in sections else {})
        done("phases and memory")
    if "large" in sections:
        from .large import CPU_RUNS, GPU_RUNS, bench_large

        runs = plan.large_runs if plan.large_runs is not None else (GPU_RUNS if backend.name == "gpu" else CPU_RUNS)
        results["large"] = bench_large(runs, backend.name, plan.large_steps, log)
        done("large")


def run_from_args(args) -> int:
    """`abm bench` (the arguments are defined in abm/cli.py)."""
    from ..errors import AbmError

    sections = tuple(s.strip() for s in args.only.split(",") if s.strip()) if args.only else SECTIONS
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or not sections:
        raise AbmError(f"bench --only: unknown section(s) {', '.join(unknown) or '(none)'}; "
                       f"choose from {','.join(SECTIONS)}")
    plan = make_plan(tiny=True) if args.tiny else make_plan(goals=True) if args.goals else None  # None: by --quick and the backend
    run_benchmark(args.device, args.quick, sections, args.mesa, args.out, args.plot, plan=plan)
    return 0
