"""`abm sensitivity [STUDY ...] [--method morris|sobol] [--trajectories R | --samples N] [--range 2]
[--seeds S] [--workers N] [--scheduler ADDRESS | --engine FILE] [--out DIR] [--quick]`."""
from __future__ import annotations

import sys
from pathlib import Path

from ..validate.studies import STUDIES

QUICK_STUDIES = ("chan2020",)  # --quick without a study: the cheapest full study (its lattice is already small)
DEFAULT_TRAJECTORIES, QUICK_TRAJECTORIES = 4, 2
DEFAULT_SAMPLES, QUICK_SAMPLES = 64, 8


def add_sensitivity_command(commands) -> None:
    from ..sweep.cli import add_dask_options

    p = commands.add_parser("sensitivity", help="vary the assumed parameters +/-2x (Morris or Sobol, SALib): "
                                                "which studies' conclusions survive, which flip and why")
    p.add_argument("studies", nargs="*", metavar="STUDY", help=f"studies (default all: {', '.join(STUDIES)})")
    p.add_argument("--method", choices=["morris", "sobol"], default="morris")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--trajectories", type=int, metavar="R",
                      help=f"Morris trajectories (default {DEFAULT_TRAJECTORIES}, --quick {QUICK_TRAJECTORIES})")
    size.add_argument("--samples", type=int, metavar="N",
                      help=f"Sobol base sample N, a power of 2 (default {DEFAULT_SAMPLES}, --quick {QUICK_SAMPLES})")
    p.add_argument("--range", dest="range_factor", type=float, default=2.0,
                   help="each factor over [value/RANGE, value*RANGE], log-uniform (default 2)")
    p.add_argument("--seeds", type=int, help="seeds per arm and point, from 2000 (default 2, --quick 1)")
    p.add_argument("--only", action="append", default=[], metavar="KEY", help="vary only this factor (repeatable)")
    add_dask_options(p, engine_file=True)
    p.add_argument("--device", choices=["auto", "cpu", "gpu"], default="cpu", help="backend of every run")
    p.add_argument("--out", default="runs/sensitivity", help="folder: <out>/<study>/ (runs, csv, png, report.md)")
    p.add_argument("--quick", action="store_true", help=f"tiny design for CI ({', '.join(QUICK_STUDIES)} unless "
                                                        "studies are named; validation.quick_overrides; 1 seed)")


def options_from(args):
    from ..errors import ConfigError
    from .study import Options

    if args.method == "sobol" and args.trajectories is not None:
        raise ConfigError("--trajectories: Morris only; Sobol takes --samples N")
    if args.method == "morris" and args.samples is not None:
        raise ConfigError("--samples: Sobol only (--method sobol); Morris takes --trajectories R")
    if args.method == "morris":
        size = args.trajectories or (QUICK_TRAJECTORIES if args.quick else DEFAULT_TRAJECTORIES)
    else:
        size = args.samples or (QUICK_SAMPLES if args.quick else DEFAULT_SAMPLES)
    seeds = args.seeds or (1 if args.quick else 2)
    for flag, value, least in (("--trajectories/--samples", size, 2), ("--seeds", seeds, 1)):
        if value < least:
            raise ConfigError(f"{flag}: must be at least {least}, got {value}")
    return Options(args.method, size, args.range_factor, seeds, args.quick, tuple(args.only), args.device,
                   Path(args.out))


def sensitivity_command(args) -> int:
    from ..errors import ConfigError
    from ..sweep.engine import engine_from
    from . import report
    from .study import analyse

    options, engine = options_from(args), engine_from(args)
    names = args.studies or list(QUICK_STUDIES if args.quick else STUDIES)
    unknown = [name for name in names if name not in STUDIES]
    if unknown:
        raise ConfigError(f"sensitivity: unknown study {unknown[0]!r} (studies: {', '.join(STUDIES)})")
    command = "abm " + " ".join(sys.argv[1:]) if len(sys.argv) > 1 else "abm sensitivity"
    log = lambda message: print(message, file=sys.stderr)  # noqa: E731
    failed = 0
    for name in names:
        analysis = analyse(name, options, engine, log=log, progress=sys.stderr.isatty())
        path = report.write(analysis, command)
        failed += len(analysis.failures)
        for verdict in analysis.verdicts:
            print(f"{name}: {verdict.criterion}: {verdict.status}")
        log(f"abm: sensitivity {name}: {analysis.n_runs} runs in {analysis.wall_s:.0f} s -> {path}")
    return 1 if failed else 0


SENSITIVITY_HANDLERS = {"sensitivity": sensitivity_command}
