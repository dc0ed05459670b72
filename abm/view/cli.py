"""`abm view RUN.h5 ...` serves the run viewer; `abm view --live CONFIG` serves a live model."""
from __future__ import annotations

from ..errors import AbmError


def view_from_args(args) -> int:
    if args.live and args.runs:
        raise AbmError("view: give run files, or --live CONFIG, not both")
    if args.live:
        from .live import serve_live

        return serve_live(args.live, host=args.host, port=args.port, open_browser=not args.no_browser)
    if not args.runs:
        raise AbmError("view: give one or more run files (or sweep folders), or --live CONFIG")
    from .app import serve_runs

    return serve_runs(args.runs, host=args.host, port=args.port, open_browser=not args.no_browser)
