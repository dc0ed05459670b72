"""The run files `abm view` may read: resolved once, from the command line, before serving.

The browser never sends a path: it selects runs by their index in this list, so the app reads
exactly the files named (or found in the folders named) when it was started.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import OutputError

ENV = "ABM_VIEW_RUNS"  # JSON list of the checked run files, set by serve_runs before the app is loaded


def discover(paths) -> list[Path]:
    """Run files in command-line order: a file as given, a folder (e.g. a sweep's output folder,
    nested or not) as every .h5 under it, sorted. Hidden files are left out: a sweep's
    `.<run>.part-...h5` is an attempt still being written, published later under its own name."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.h5")
                            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not inside:
                raise OutputError(f"{path}: folder holds no .h5 run files")
            found.extend(inside)
        else:
            found.append(path)
    unique, seen = [], set()
    for path in found:  # the same file twice (a file and its folder) is shown once
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def check(path: Path) -> None:
    """Raise the one-line OutputError of a missing, damaged or foreign file (abm.io.reader.Run's checks)."""
    from ..io.reader import Run

    with Run(path) as run:
        run.snapshot_steps  # noqa: B018 (reading them is the check)
        run.cell_types


def resolve(paths, workers: int = 4) -> list[Path]:
    """Every run file to serve, each checked; the first bad one (in command-line order) is the error."""
    if not paths:
        raise OutputError("view: give one or more run files or folders")
    files = discover(paths)
    # Each check runs the reader's metadata probe in a child process (~0.2 s): a sweep folder of
    # hundreds of runs is checked a few at a time.
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(files)))) as pool:
        errors = list(pool.map(_error_of, files))
    for error in errors:
        if error is not None:
            raise error
    return [path.resolve() for path in files]


def _error_of(path: Path) -> OutputError | None:
    try:
        check(path)
    except OutputError as error:
        return error
    return None


def to_env(files: list[Path]) -> None:
    """Hand the list to the app module. An environment variable rather than a module attribute:
    Solara imports the app itself, and the list survives however (and how often) it does."""
    os.environ[ENV] = json.dumps([str(path) for path in files])


def from_env() -> tuple[Path, ...]:
    return tuple(Path(p) for p in json.loads(os.environ.get(ENV, "[]")))
