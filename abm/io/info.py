"""`abm info RUN.h5`: a run's summary, quick enough for a command line that starts at once.

Two choices keep it well under half a second: the time series is read with h5py and NumPy (pandas
alone takes ~0.4 s to import; summary.py), and the check of the file's metadata in a child process
(probe.py, ~0.2 s: the child imports h5py) runs while this process imports h5py and NumPy
itself, in parallel on two cores instead of one after the other. This module imports neither
before the check starts.
"""
from __future__ import annotations

import signal
import threading
from pathlib import Path

from . import probe


def summary_of(path) -> str:
    """The summary of the run file at `path`; OutputError (one line) if it cannot be read."""
    if Path(path).is_file():  # otherwise Run says what is wrong (missing, a directory)
        importer = _importer()
        probe.check(path, "run file")  # Run(path) below finds the file checked and skips the child
        importer.join()
    from .reader import Run
    from .summary import summary

    with Run(path) as run:
        return summary(run)


def _importer() -> threading.Thread:
    """A thread importing reader.py (h5py, NumPy), started with Ctrl-C and SIGTERM blocked, as are
    the threads it starts (NumPy's BLAS pool): probe.check blocks them in the main thread while
    it starts its child, and a thread that took them in that moment would have the main thread
    stop inside Popen, the child left running."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, probe.STOP_SIGNALS)
    try:
        importer = threading.Thread(target=_import_reader, daemon=True)
        importer.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return importer


def _import_reader() -> None:
    try:
        from . import reader  # noqa: F401
    except BaseException:  # noqa: BLE001 - the main thread's own import reports it, as one line
        pass
