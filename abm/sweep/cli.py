"""The `abm sweep` and `abm sweep-report` subcommands (registered by abm.cli)."""
from __future__ import annotations

import contextlib
import signal
import sys

EXIT_RUNS_FAILED = 1
EXIT_INTERRUPTED = 130


def _positive(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_dask_options(parser, engine_file: bool = False) -> None:
    """Where runs execute, the same for abm sweep, calibrate and sensitivity: --workers and
    --scheduler (and, for a command with no sweep file of its own, --engine FILE)."""
    parser.add_argument("--workers", type=_positive, help="local worker processes, or SLURM/PBS jobs "
                                                          "(default: CPU cores, or the engine block's)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="use a running dask scheduler, e.g. tcp://host:8786")
    if engine_file:
        where.add_argument("--engine", metavar="FILE", help="YAML file whose engine: block (as in a sweep file: "
                                                            "local, slurm, pbs) runs the runs")


def add_sweep_commands(commands) -> dict:
    """Add the subparsers; returns {command: handler} for abm.cli's dispatch table."""
    sweep = commands.add_parser(
        "sweep", help="run a parameter sweep (arms x seeds) on Dask: locally, or on SLURM/PBS",
        description="Run every (arm, seed) of a sweep file as one Dask task writing runs/<name>/<run>.h5; "
                    "runs already complete are skipped, so running it again resumes.")
    sweep.add_argument("sweep", help="sweep YAML file (see configs/sweeps/)")
    add_dask_options(sweep)
    sweep.add_argument("--out", metavar="DIR", help="sweep folder (default runs/<name>)")
    sweep.add_argument("--device", choices=["auto", "cpu", "gpu"], help="backend (overrides the sweep file)")
    sweep.add_argument("--dry-run", action="store_true", help="list the runs that would execute, run nothing")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.add_argument("--job-script", action="store_true",
                       help="print the SLURM/PBS job script of the engine block and exit")

    report = commands.add_parser("sweep-report", help="plot a sweep's metrics against its parameters (PNG)")
    report.add_argument("dir", help="sweep folder (with summary.parquet or summary.csv)")
    report.add_argument("--out", help="PNG path (default DIR/report.png)")
    report.add_argument("--metric", dest="metrics", action="append", metavar="COLUMN",
                        help="metric column to plot, repeatable (default: final_tumor, final_nk, total_kills, ...)")
    return SWEEP_HANDLERS


@contextlib.contextmanager
def _interrupt_on_signals():
    """Ctrl-C, and SIGTERM (a batch system's wall-time limit), stop the sweep cleanly, even when the
    process was started with SIGINT ignored (a background job of a non-interactive shell)."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _log(message):
    print(message, file=sys.stderr)


def sweep_command(args) -> int:
    if args.job_script:
        return _print_job_script(args)
    from .driver import run_sweep

    with _interrupt_on_signals():
        result = run_sweep(args.sweep, out_dir=args.out, workers=args.workers, scheduler=args.scheduler,
                           device=args.device, progress=not args.no_progress and sys.stderr.isatty(),
                           dry_run=args.dry_run, log=_log)
    if result.interrupted:
        _log("abm: sweep interrupted; run the same command again to finish the remaining runs")
        return EXIT_INTERRUPTED
    if result.failed:
        _log(f"abm: sweep: {len(result.failed)} runs failed (errors in {result.summary_paths[0]})")
        return EXIT_RUNS_FAILED
    return 0


def _print_job_script(args) -> int:
    from ..errors import ConfigError
    from .engine import job_script
    from .spec import JobQueueEngine, load_sweep

    engine = load_sweep(args.sweep, out_dir=args.out).spec.engine
    if not isinstance(engine, JobQueueEngine):
        raise ConfigError(f"--job-script: {args.sweep}: engine.kind is {engine.kind}, not slurm or pbs")
    if args.workers:
        engine = engine.model_copy(update={"jobs": args.workers})
    print(job_script(engine))
    return 0


def report_command(args) -> int:
    from .report import describe, plot_sweep

    out = plot_sweep(args.dir, out=args.out, metrics=args.metrics)
    print(describe(args.dir))
    _log(f"abm: wrote {out}")
    return 0


SWEEP_HANDLERS = {"sweep": sweep_command, "sweep-report": report_command}
