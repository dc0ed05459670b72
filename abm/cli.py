"""Command line: abm run | info | plot | movie | view | rules | schema | sweep | validate | bench.

User errors (bad config, unreadable file, unwritable output) are printed as one line
`abm: error: ...` with exit status 2, never as a traceback. Set ABM_DEBUG=1 to see tracebacks.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

from .calibrate.cli import CALIBRATE_HANDLERS, add_calibrate_command
from .errors import AbmError
from .sensitivity.cli import SENSITIVITY_HANDLERS, add_sensitivity_command
from .sweep.cli import SWEEP_HANDLERS, add_sweep_commands
from .validate.cli import VALIDATE_HANDLERS, add_validate_command

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
READING_COMMANDS = ("info", "plot", "movie")  # only read run files: a signal may end them at any moment


class _Signalled(KeyboardInterrupt):
    def __init__(self, signal_number: int):
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


@contextmanager
def _stop_at_once_on_sigterm(command: str):
    """SIGTERM ends a reading command like Ctrl-C does: one line, exit status 143, no traceback.
    (Files are read in short calls, and damaged metadata in a child process (io/probe.py), so
    the handler runs within a moment.)"""
    if command not in READING_COMMANDS or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(number, _frame):
        raise _Signalled(number)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line 'abm: error: ...' with status 2, like every other user error."""

    def error(self, message):
        message = " ".join(str(message).split())
        self.exit(EXIT_USER_ERROR, f"abm: error: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="abm", description="Lattice tissue model of immune control of metastasis")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a scenario from a YAML config, writing one HDF5 file")
    run.add_argument("config", nargs="?", help="YAML config file (see configs/)")
    run.add_argument("--resume", metavar="RUN.h5",
                     help="continue an interrupted or killed run from its latest checkpoint (no config needed)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value, e.g. --set cells.nk.kill_probability_per_contact=0.2")
    run.add_argument("--arm", help="named arm of the config (its overrides are applied before --set)")
    run.add_argument("--ablate", action="append", default=[], metavar="RULE",
                     help="switch a rule off, e.g. --ablate nk.contact_kill (abm rules CONFIG lists them)")
    run.add_argument("--out", help="output HDF5 path (default runs/<name>.h5)")
    run.add_argument("--device", choices=["auto", "cpu", "gpu"], help="backend (overrides the config)")
    run.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    info = commands.add_parser("info", help="print a summary of a run file")
    info.add_argument("run", help="HDF5 run file")

    plot = commands.add_parser("plot", help="draw a run: lattice slice, fields, population time series")
    plot.add_argument("run", help="HDF5 run file")
    plot.add_argument("--step", type=int, help="snapshot step (default: the last)")
    plot.add_argument("--out", help="PNG path (default: next to the run, <run>.png)")
    plot.add_argument("--axis", type=int, default=2, choices=[0, 1, 2], help="3D: slice normal axis")
    plot.add_argument("--index", type=int, help="3D: slice index (default: mid-plane)")

    movie = commands.add_parser("movie", help="animate a run: lattice slice (and a field) over the snapshots")
    movie.add_argument("run", help="HDF5 run file")
    movie.add_argument("--out", help="GIF or MP4 path (default: next to the run, <run>.gif)")
    movie.add_argument("--field", help="also show this field beside the lattice")
    movie.add_argument("--fps", type=float, default=5.0, help="frames per second (default 5)")
    movie.add_argument("--axis", type=int, default=2, choices=[0, 1, 2], help="3D: slice normal axis")
    movie.add_argument("--index", type=int, help="3D: slice index (default: mid-plane)")

    rules = commands.add_parser("rules", help="list the rules of a config's cell types: what each does, the "
                                              "parameters it reads, whether it runs")
    rules.add_argument("config", help="YAML config file")
    rules.add_argument("--arm", help="named arm of the config")
    rules.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value")
    rules.add_argument("--ablate", action="append", default=[], metavar="RULE", help="switch a rule off")

    schema = commands.add_parser("schema", help="print the JSON Schema of config files (with the sections of "
                                                "every installed plugin, or of the plugins CONFIG names)")
    schema.add_argument("config", nargs="?", help="a config file: the schema of its model (the built-in types and "
                                                  "its plugins:)")

    view = commands.add_parser("view", help="look at runs in the browser (time slider, fields, 3D, side by side), "
                                            "or run a model live with --live CONFIG")
    view.add_argument("runs", nargs="*", metavar="RUN", help="HDF5 run files or sweep folders (read-only)")
    view.add_argument("--live", metavar="CONFIG", help="run this config's model in the browser: parameters, step, "
                                                       "play, pause, reset")
    view.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    view.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free port)")
    view.add_argument("--no-browser", action="store_true", help="print the URL only (default: print it and open it)")
    add_sweep_commands(commands)  # abm sweep, abm sweep-report
    add_validate_command(commands)  # abm validate
    add_sensitivity_command(commands)  # abm sensitivity
    add_calibrate_command(commands)  # abm calibrate
    bench = commands.add_parser("bench", help="performance benchmarks: numbers to a JSON file and a scaling plot",
                                description=_bench_description(), formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_argument("--device", choices=["auto", "cpu", "gpu"], default="auto", help="backend (default auto)")
    bench.add_argument("--quick", action="store_true", help="small sizes, few steps (about half a minute on 2 cores)")
    bench.add_argument("--out", help="JSON path (default benchmarks/results/<date>-<device>-bench[-quick].json)")
    bench.add_argument("--plot", help="scaling plot PNG (default: the JSON path with .png)")
    bench.add_argument("--only", metavar="SECTIONS",
                       help=f"comma-separated sections (default all: {', '.join(_bench_sections())})")
    bench.add_argument("--mesa", action=argparse.BooleanOptionalAction, default=True,
                       help="time the Mesa reference on the minimal rules (default: on)")
    bench.add_argument("--goals", action="store_true",
                       help="the GPU goals only: minimal rules at 4096^2 (agent-steps/s), diffusion at 256^3 and "
                            "512^3 (share of the memory bandwidth), the liver at 256^3 with 1.1 M cells (steps/s)")
    bench.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # tests: tiny sizes, every path
    return parser


def _bench_description() -> str:
    try:  # the figures and their units, from abm/bench's docstring
        from . import bench

        return bench.__doc__
    except ImportError:
        return "performance benchmarks"


def _bench_sections() -> tuple:
    from .bench import SECTIONS  # the package's top level only: no NumPy

    return SECTIONS


def _bench(args) -> int:
    from .bench import run_from_args

    return run_from_args(args)


def _run(args) -> int:
    from .config.sections import parse_override
    from .io.resume import AlreadyComplete
    from .runner import resume_file, run_to_file

    progress = not args.no_progress and sys.stderr.isatty()
    log = lambda message: print(message, file=sys.stderr)  # noqa: E731
    try:
        if args.resume is not None:
            extra = [flag for flag, given in (("CONFIG", args.config), ("--set", args.overrides), ("--out", args.out),
                                               ("--ablate", args.ablate),
                                               ("--arm", getattr(args, "arm", None)),
                                               ("--overwrite", args.overwrite)) if given]
            if extra:
                raise AbmError(f"--resume {args.resume}: takes the config from the run file; "
                               f"{', '.join(extra)} cannot be combined with it")
            resume_file(args.resume, device=args.device, progress=progress, log=log)
        elif args.config is None:
            raise AbmError("run: give a CONFIG file, or --resume RUN.h5 (see 'abm run --help')")
        else:
            overrides = dict(parse_override(item) for item in args.overrides)
            run_to_file(args.config, overrides=overrides, out=args.out, device=args.device,
                        overwrite=args.overwrite, progress=progress, log=log, arm=args.arm, ablate=args.ablate)
    except AlreadyComplete as done:
        print(f"abm: {done}", file=sys.stderr)
        return 0
    except KeyboardInterrupt as stop:
        step, number = getattr(stop, "step", None), getattr(stop, "signal_number", signal.SIGINT)
        if getattr(stop, "checkpointed", False):
            print(f"abm: interrupted at step {step}; checkpoint written, the output is marked incomplete; "
                  f"continue with: abm run --resume {stop.path}", file=sys.stderr)
        elif hasattr(stop, "detail"):  # runner.Stopped: before the first step
            detail = f"; {stop.detail}" if stop.detail else ""
            print(f"abm: stopped by {signal.Signals(number).name} before the first step{detail}", file=sys.stderr)
        else:
            print("abm: interrupted; the output is marked incomplete", file=sys.stderr)
        return 128 + number
    return 0


def _info(args) -> int:
    from .io.info import summary_of

    print(summary_of(args.run))
    return 0


def _plot(args) -> int:
    from .viz.plot import plot_run

    out = args.out or str(Path(args.run).with_suffix(".png"))
    plot_run(args.run, out, step=args.step, axis=args.axis, index=args.index)
    print(f"abm: wrote {out}", file=sys.stderr)
    return 0


def _movie(args) -> int:
    from .viz.movie import make_movie

    out = args.out or str(Path(args.run).with_suffix(".gif"))
    frames = make_movie(args.run, out, field=args.field, fps=args.fps, axis=args.axis, index=args.index)
    print(f"abm: wrote {out} ({frames} frames)", file=sys.stderr)
    return 0


def _rules(args) -> int:
    from .config.sections import load_config, parse_override
    from .config.describe import rule_lines
    from .core.schedule import Schedule

    overrides = dict(parse_override(item) for item in args.overrides)
    # Listing rules reads no source run: a from_run placement's file may not exist yet.
    config, _ = load_config(args.config, overrides, arm=args.arm, ablate=args.ablate, check_sources=False)
    print("\n".join(rule_lines(config, Schedule(config.spec, config))))
    return 0


def _view(args) -> int:
    from .view.cli import view_from_args

    return view_from_args(args)


def _schema(args) -> int:
    from .config.sections import load_raw, plugins_named
    from .config.schema import json_schema
    from .errors import ConfigError
    from .config.plugins import available

    if args.config is None:  # one schema for every config an editor opens: every installed plugin's sections
        plugins = tuple(sorted(available()))
    else:  # only the plugins list is read: the schema is for editing the file, valid or not yet
        plugins = plugins_named(load_raw(args.config)[0], args.config)
    try:
        text = json_schema(plugins)
    except ConfigError as error:
        raise ConfigError(f"{args.config or 'installed plugins'}: {error}") from None
    print(text)
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """The model's warnings as one line each, like its errors (a traceback location helps no user)."""
    print(f"abm: warning: {message}", file=sys.stderr if file is None else file)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    warnings.showwarning = _show_warning
    handler = {"run": _run, "info": _info, "plot": _plot, "movie": _movie, "rules": _rules, "schema": _schema, "view": _view,
               **SWEEP_HANDLERS, **VALIDATE_HANDLERS, **SENSITIVITY_HANDLERS, **CALIBRATE_HANDLERS,
               "bench": _bench}[args.command]
    try:
        with _stop_at_once_on_sigterm(args.command):
            code = handler(args)
        if argv is None and args.command == "run" and code == 0:
            # The command-line process, its run complete and its file closed: a Ctrl-C or SIGTERM
            # arriving while it winds down (thread pools, interpreter exit) has nothing left to
            # stop and must not turn a finished run into a killed process.
            for number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(number, signal.SIG_IGN)
        return code
    except AbmError as error:
        print(f"abm: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM during a command that handles none itself
        number = getattr(stop, "signal_number", signal.SIGINT)
        print(f"abm: stopped by {signal.Signals(number).name}", file=sys.stderr)
        return 128 + number
    except BrokenPipeError:  # e.g. `abm schema | head`
        sys.stderr.close()
        return 0
    except Exception as error:  # noqa: BLE001 - a bug: one line unless debugging
        if os.environ.get("ABM_DEBUG"):
            raise
        print(f"abm: internal error: {error.__class__.__name__}: {error} (set ABM_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
