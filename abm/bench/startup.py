"""The start-up section of abm bench: how soon the command line answers, timed as whole processes
started from this one (interpreter start, imports and set-up included).

help        `abm --help`: seconds from just before the process starts to its exit.
info        `abm info RUN.h5` of the one-step run below: likewise.
first_step  `abm run configs/default.yaml` for one step (time.duration_h = one dt): seconds from
            just before the process starts to the end of its first step, the moment the runner
            writes to the file named by ABM_FIRST_STEP_MARK (abm/runner.py); the process's exit
            comes later and is not counted.

Each command first runs once untimed (numba's cache, the file system's caches: the state of a
machine in use), then Plan.startup_repeats times; min and median are reported, and the median CPU
seconds (user + system) of the whole process, steadier than the wall clock when other jobs share
the machine (for first_step they include the rest of the run and its exit).
"""
from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import report
from .measure import repo_root

DEFAULT = "configs/default.yaml"
ONE_STEP = ["--set", "time.duration_h=0.1"]  # the default scenario's dt is 6 min: one step
TIMEOUT_S = 300


def bench_startup(repeats: int, device: str, log) -> dict:
    """{"rows": [...], "skipped": [...]}: one row per command (seconds by repeat, min, median)."""
    log(report.HEADERS["startup"])
    rows, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="abm-bench-startup-") as folder:
        run_file, mark = Path(folder) / "one-step.h5", Path(folder) / "mark"
        commands = {"first_step": [*abm(), "run", DEFAULT, *ONE_STEP, "--device", device, "--out", str(run_file),
                                   "--overwrite", "--no-progress"],
                    "info": [*abm(), "info", str(run_file)],  # the file the runs above write
                    "help": [*abm(), "--help"]}
        for name, argv in commands.items():
            try:  # the first of repeats + 1 is the untimed one
                timed = [_time(argv, mark if name == "first_step" else None) for _ in range(repeats + 1)][1:]
            except RuntimeError as error:  # a failing command is recorded, the other figures kept
                skipped.append({"name": name, "command": _shown(argv), "reason": str(error)})
                log(f"  {name:>10} failed: {error}")
                continue
            seconds, cpu = [wall for wall, _ in timed], [used for _, used in timed]
            row = {"name": name, "command": _shown(argv), "what": WHAT[name], "repeats": repeats,
                   "seconds": seconds, "min_s": min(seconds), "median_s": statistics.median(seconds),
                   "cpu_seconds": cpu, "median_cpu_s": statistics.median(cpu)}
            rows.append(row)
            log(report.startup_line(row))
    return {"rows": rows, "skipped": skipped}


WHAT = {"first_step": "process start to the end of its first step",
        "info": "process start to exit", "help": "process start to exit"}


def abm() -> list[str]:
    """This interpreter running abm: the same code as the bench (a source tree or the installed package)."""
    return [sys.executable, "-m", "abm"]


def _shown(argv: list[str]) -> str:
    """The command as a person would type it: `abm ...`, temporary paths shortened."""
    words = ["abm", *argv[3:]]
    return " ".join(Path(w).name if w.startswith(tempfile.gettempdir()) else w for w in words)


def _time(argv: list[str], mark: Path | None) -> tuple[float, float]:
    """(seconds from just before the process starts to its exit, or to the time it writes to `mark`
    (the end of its first step); CPU seconds of the whole process and the children it waited for).
    RuntimeError naming the failure if it fails. The CPU figure is the steadier one on a shared
    machine: other jobs slow the wall clock, not the work done."""
    from ..runner import FIRST_STEP_MARK

    env = dict(os.environ)
    if mark is not None:
        mark.unlink(missing_ok=True)
        env[FIRST_STEP_MARK] = str(mark)
    before = _children_cpu()
    start, wall = time.perf_counter(), time.time()  # the child writes time.time(): the same clock
    try:
        done = subprocess.run(argv, capture_output=True, text=True, cwd=repo_root(), env=env, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"no answer in {TIMEOUT_S} s") from None
    seconds, cpu = time.perf_counter() - start, _children_cpu() - before
    if done.returncode != 0:
        raise RuntimeError(_failure(done))
    if mark is None:
        return seconds, cpu
    if not mark.is_file():
        raise RuntimeError(f"no first-step mark was written to {mark}")
    return float(mark.read_text()) - wall, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _failure(done: subprocess.CompletedProcess) -> str:
    last = (done.stderr.strip().splitlines() or [""])[-1]
    return f"exit status {done.returncode}: {last}"
