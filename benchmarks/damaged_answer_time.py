"""How soon each kind of damaged run file is answered, by each command that reads runs.

    python benchmarks/damaged_answer_time.py [--repeats 3] [--busy 0 3] [--out FILE]

The files are those of tests/test_damaged_files.py, made from one tiny run (24 x 24 sites, 4
steps): truncated (its first half), zeroed (its middle half), random (random bytes), empty, heap
(the global heap partly zeroed: HDF5 loops on it, and the child process reading the metadata is
stopped after 1 s of CPU), not_a_run (an HDF5 file of something else), and good (the sound file:
what the command costs anyway). Commands: `abm info`, `abm plot`, `abm movie`, `abm run --resume`,
each as a whole process, one at a time, the file written afresh before each.

Each (kind, command) runs once untimed (the file system's caches), then `repeats` times; wall
seconds from just before the process starts to its exit (min, median) and CPU seconds of the
process and the children it waited for (median; other jobs do not inflate it). With --busy N,
N processes spinning at 100 % share the machine meanwhile (the test suite's worst case on 2
cores); each load level is measured in turn.

variant "child_only" repeats the kinds whose first bytes already show the damage (truncated,
empty, random) with the first-bytes check switched off (abm.io.probe.quick_verdict returning
None), so that the probe child decides as before issue 20: the gain of the check.

Writes JSON (default benchmarks/results/<date>-cpu-<cores>core-damaged-answer-time.json).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_damaged_files import COMMANDS, KINDS, TINY, _args, answer, make  # noqa: E402

QUICK_KINDS = ("truncated", "empty", "random")  # answered from the first bytes
# abm's command line with the first-bytes check off: the probe child decides every file.
CHILD_ONLY = ("import sys, abm.io.probe as probe; probe.quick_verdict = lambda path: None; "
              "from abm.cli import main; sys.exit(main(sys.argv[1:]))")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, nargs="+", default=[0, 3], help="busy processes, one level each")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from abm._version import __version__
    from abm.bench.suite import host_info
    from abm.io.provenance import git_commit

    host = host_info()
    out = args.out or ROOT / "benchmarks" / "results" / (
        f"{datetime.date.today()}-cpu-{host['cores']}core-damaged-answer-time.json")
    with tempfile.TemporaryDirectory(prefix="abm-damaged-") as folder:
        good = _good_run(Path(folder))
        loads = [_measure_load(busy, good, Path(folder), args.repeats) for busy in args.busy]
    host["load_average_at_end"] = list(os.getloadavg())
    result = {"benchmark": "damaged_answer_time", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds"), "command": " ".join(["python", "benchmarks/damaged_answer_time.py", *(argv or sys.argv[1:])]),
        "package_version": __version__, "git_commit": git_commit(), "host": host, "repeats": args.repeats,
        "what": {"seconds": "wall clock, process start to exit", "cpu_seconds": "user + system CPU of the "
                 "process and its waited-for children (the probe child)"},
        "by_kind": _by_kind(loads), "loads": loads}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def _good_run(folder: Path) -> bytes:
    from abm.runner import run_to_file
    from run_helpers import CONFIG

    path = run_to_file(CONFIG, overrides=TINY, out=folder / "good.h5", device="cpu", progress=False,
                       log=lambda message: None)
    return path.read_bytes()


def _measure_load(busy: int, good: bytes, folder: Path, repeats: int) -> dict:
    """Every (kind, command, variant) at one load level."""
    pairs = [(kind, command, "shipped") for kind in ("good", *KINDS) for command in COMMANDS]
    pairs += [(kind, command, "child_only") for kind in QUICK_KINDS for command in COMMANDS]
    rows = []
    with _busy(busy):
        load_at_start = list(os.getloadavg())
        for kind, command, variant in pairs:
            rows.append(_time_pair(kind, command, variant, good, folder, repeats))
            row = rows[-1]
            print(f"busy {busy}  {kind:>9} {command:>6} {variant:>10}: median {row['median_s']:6.2f} s, "
                  f"CPU {row['median_cpu_s']:5.2f} s  (exit {row['exit_status']}) {row['answer'][:70]}", flush=True)
    return {"busy": busy, "load_average_at_start": load_at_start, "rows": rows}


def _time_pair(kind: str, command: str, variant: str, good: bytes, folder: Path, repeats: int) -> dict:
    path = folder / f"{kind}-{command}.h5"
    timed = []
    for _ in range(repeats + 1):  # the first is untimed
        for leftover in folder.glob(f"{kind}-{command}.h5*"):
            leftover.unlink()  # a checkpoint or picture of the last repeat
        if kind == "good":
            path.write_bytes(good)
        else:
            make(kind, good, path)
        argv = _argv(command, path, variant)
        timed.append(answer(argv, hang_s=600))
    code, stderr, _, _ = timed[-1]
    seconds, cpu = [t[2] for t in timed[1:]], [t[3] for t in timed[1:]]
    last = (stderr.strip().splitlines() or [""])[-1].replace(str(path), "RUN.h5")
    return {"kind": kind, "command": command, "variant": variant, "exit_status": code, "answer": last,
            "seconds": [round(s, 3) for s in seconds], "min_s": round(min(seconds), 3),
            "median_s": round(statistics.median(seconds), 3), "cpu_seconds": [round(c, 3) for c in cpu],
            "median_cpu_s": round(statistics.median(cpu), 3)}


def _argv(command: str, path: Path, variant: str) -> list[str]:
    args = _args(command, path)
    if variant == "child_only":
        return [sys.executable, "-c", CHILD_ONLY, *args]
    return [sys.executable, "-m", "abm", *args]


@contextlib.contextmanager
def _busy(n: int):
    """n processes spinning for the block's duration, ended (by their ids) after it."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def _by_kind(loads: list[dict]) -> dict:
    """{"busy N": {kind (variant): {median over the commands of their median seconds, the slowest}}}."""
    summary = {}
    for load in loads:
        groups: dict[str, list[dict]] = {}
        for row in load["rows"]:
            key = row["kind"] + ("" if row["variant"] == "shipped" else f" ({row['variant']})")
            groups.setdefault(key, []).append(row)
        summary[f"busy {load['busy']}"] = {
            key: {"median_s": round(statistics.median(r["median_s"] for r in rows), 3),
                  "slowest_command": max(rows, key=lambda r: r["median_s"])["command"],
                  "slowest_median_s": max(r["median_s"] for r in rows),
                  "median_cpu_s": round(statistics.median(r["median_cpu_s"] for r in rows), 3)}
            for key, rows in groups.items()}
    return summary


if __name__ == "__main__":
    sys.exit(main())
