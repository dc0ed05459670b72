"""Command line: abm run | info | plot | schema.

User errors (bad config, unreadable file, unwritable output) are printed as one line
`abm: error: ...` with exit status 2, never as a traceback. Set ABM_DEBUG=1 to see tracebacks.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import AbmError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line 'abm: error: ...' with status 2, like every other user error."""

    def error(self, message):
        message = " ".join(str(message).split())
        self.exit(EXIT_USER_ERROR, f"abm: error: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="abm", description="Lattice tissue model of immune control of metastasis")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a scenario from a YAML config, writing one HDF5 file")
    run.add_argument("config", help="YAML config file (see configs/)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value, e.g. --set cells.nk.kill_probability_per_contact=0.2")
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

    commands.add_parser("schema", help="print the JSON Schema of config files")
    return parser


def _run(args) -> int:
    from .config import parse_override
    from .runner import run_to_file

    overrides = dict(parse_override(item) for item in args.overrides)
    try:
        run_to_file(args.config, overrides=overrides, out=args.out, device=args.device,
                    overwrite=args.overwrite, progress=not args.no_progress and sys.stderr.isatty(),
                    log=lambda message: print(message, file=sys.stderr))
    except KeyboardInterrupt:
        print("abm: interrupted; the output is marked incomplete", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _info(args) -> int:
    from .io.reader import Run

    with Run(args.run) as run:
        print(run.summary())
    return 0


def _plot(args) -> int:
    from .viz.plot import plot_run

    out = args.out or str(Path(args.run).with_suffix(".png"))
    plot_run(args.run, out, step=args.step, axis=args.axis, index=args.index)
    print(f"abm: wrote {out}", file=sys.stderr)
    return 0


def _schema(args) -> int:
    from .config import json_schema

    print(json_schema())
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    handler = {"run": _run, "info": _info, "plot": _plot, "schema": _schema}[args.command]
    try:
        return handler(args)
    except AbmError as error:
        print(f"abm: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
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
