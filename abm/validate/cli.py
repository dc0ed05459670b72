"""`abm validate [STUDY ...] [--seeds N] [--quick] [--device ...] [--workers N | --scheduler ADDRESS | --engine FILE] [--out DIR] [--no-controls] [--3d]`."""
from __future__ import annotations

import sys
import time

from ..sweep.cli import add_dask_options
from .studies import STUDIES


# Exit status when the runs completed and the report was written, but criteria failed: distinct
# from 1 (an internal error) and 2 (bad input), so scripts can tell a scientific result from a crash.
CRITERIA_FAILED = 3


def add_validate_command(commands) -> None:
    validate = commands.add_parser("validate", help="run the five studies' scenarios over seeds and check their findings")
    validate.add_argument("studies", nargs="*", metavar="STUDY", help=f"studies to run (default all: {', '.join(STUDIES)})")
    validate.add_argument("--seeds", type=int, help="seeds per arm (default: the criteria file's seeds_per_arm, 30)")
    validate.add_argument("--quick", action="store_true", help="few seeds and small runs (CI); statistical "
                                                              "criteria that need many seeds are reported, not required")
    validate.add_argument("--device", choices=["auto", "cpu", "gpu"], default="cpu", help="backend of every run")
    validate.add_argument("--out", default="runs/validate", help="folder for runs and the report")
    add_dask_options(validate, engine_file=True)  # --workers, --scheduler or --engine FILE: runs on Dask
    validate.add_argument("--no-controls", dest="controls", action="store_false",
                          help="skip the negative controls (each criterion's arms rerun without its mechanism)")
    validate.add_argument("--from-metrics", nargs="+", metavar="CSV",
                          help="judge the criteria on the per-run values of earlier validations' metrics.csv files "
                               "(no runs): a report written again, or joined from studies validated at different times")
    validate.add_argument("--3d", dest="three_d", action="store_true",
                          help="also run the studies whose tissue is 3D (chan2020, correia2021) on 3D lattices "
                               "(validation.three_d_overrides) and check their criteria there")


def _validate(args) -> int:
    from tqdm import tqdm

    from ..sweep.engine import engine_from
    from . import report, runner

    started = time.monotonic()
    if args.from_metrics:
        return _from_metrics(args)
    tasks = runner.plan(args.studies, seeds=args.seeds, quick=args.quick, out_dir=args.out, device=args.device,
                        controls=args.controls, three_d=args.three_d)
    with tqdm(total=len(tasks), unit="run", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
        results = runner.execute(tasks, engine_from(args), progress=bar.update, log=_log)
    checks = runner.check(results, quick=args.quick)
    print(report.table(checks, quick=args.quick))
    command = "abm validate " + " ".join(sys.argv[2:]) if len(sys.argv) > 1 else "abm validate"
    path = report.write(args.out, results, checks, command, args.quick, wall_s=time.monotonic() - started)
    failed = [c for c in checks if c.status == "FAIL"]
    print(f"abm validate: report {path}")
    print(f"{len(failed)} counted predictions failed")
    return CRITERIA_FAILED if failed else 0


def _from_metrics(args) -> int:
    from . import report, runner, saved

    results = saved.read_metrics(args.from_metrics)
    if args.studies:
        results = {key: runs for key, runs in results.items() if key[0].removesuffix(runner.THREE_D) in args.studies}
    checks = runner.check(results, quick=args.quick)
    print(report.table(checks, quick=args.quick))
    command = "abm validate " + " ".join(sys.argv[2:]) if len(sys.argv) > 1 else "abm validate"
    path = report.write(args.out, results, checks, command, args.quick, sources=saved.describe(args.from_metrics))
    failed = [c for c in checks if c.status == "FAIL"]
    print(f"abm validate: report {path}")
    print(f"{len(failed)} counted predictions failed")
    return CRITERIA_FAILED if failed else 0


def _log(message) -> None:
    print(f"abm validate: {message}", file=sys.stderr)


VALIDATE_HANDLERS = {"validate": _validate}
