"""File plumbing shared by the writer and the readers: atomic replacement and HDF5 opens that wait
for the other side's lock.

Concurrency design (docs/output.md, "Reading a run while it is written"): the writer keeps the
run file closed between short write sessions. HDF5 locks the file for each open (exclusive for
the writer, shared for readers), so a reader never sees a half-written session: whichever side
finds the file locked waits a few milliseconds and tries again.
"""
from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Callable

import h5py

from ..errors import OutputError

READER_WAIT_S = 30.0  # how long a reader waits for the writer's lock before giving up

# HDF5 file format of everything written (docs/output.md, "File format"). HDF5's earliest format
# (superblock 0, object header 1, v1 B-trees) has no checksums: damaged metadata is read as if it
# were sound and can send the library into an endless loop. The 1.8 format's superblock (v2),
# object headers (v2), v2 B-trees and fractal heaps carry checksums, so damage is reported as an
# error. Not the 1.10 format: its superblock (v3) records "open for writing", and a writer killed
# inside a write session (kill -9, power cut) leaves a file that no program opens without h5clear,
# so a killed run could neither be read nor resumed. Readable by HDF5 >= 1.8 (h5py, pandas, meshio,
# ParaView).
LIBVER = ("v108", "latest")


class FileBusy(OutputError):
    """Another process kept the file locked for longer than a reader waits."""


def is_lock_error(error: BaseException) -> bool:
    """True for HDF5's 'unable to lock file' (another process holds the file)."""
    if isinstance(error, BlockingIOError) or getattr(error, "errno", None) in (errno.EAGAIN, errno.EWOULDBLOCK):
        return True
    return "unable to lock file" in str(error)


def open_h5(path, mode: str = "r", *, wait_s: float | None = READER_WAIT_S,
            on_wait: Callable[[], None] | None = None, warn_after_s: float = 5.0) -> h5py.File:
    """h5py.File(path, mode), retrying while another process holds the file's lock.

    wait_s None waits for ever; on_wait is called once after warn_after_s seconds of waiting.
    Other errors (missing file, not HDF5) are raised at once, as h5py raises them.
    """
    start = time.monotonic()
    delay, warned = 0.002, False
    # Writers pass the bounds too: objects added to a file (snapshot groups) are then checksummed.
    libver = None if mode == "r" else LIBVER
    while True:
        try:
            return h5py.File(path, mode, locking="best-effort", libver=libver)
        except OSError as error:
            if not is_lock_error(error):
                raise
            waited = time.monotonic() - start
            if wait_s is not None and waited >= wait_s:
                raise FileBusy(f"{path}: another program holds the file open (waited {waited:.0f} s); "
                                  "try again when it has closed it") from None
            if on_wait is not None and not warned and waited >= warn_after_s:
                on_wait()
                warned = True
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def create_h5(path) -> h5py.File:
    """A new HDF5 file (replacing any at path) in the checksummed format LIBVER."""
    return h5py.File(path, "w", locking="best-effort", libver=LIBVER)


def dataset_options(data, compression: int = 0) -> dict:
    """create_dataset options: chunked with a Fletcher-32 checksum per chunk (a damaged chunk is
    an error when read, not silently wrong numbers), and gzip when compression > 0."""
    if data.size == 0 or data.ndim == 0 or data.dtype.kind not in "biuf":  # cannot be chunked or filtered
        return {}
    options = {"chunks": True, "fletcher32": True}
    if compression > 0:
        options.update(compression="gzip", compression_opts=compression, shuffle=True)
    return options


def temporary_path(path: Path) -> Path:
    """Where a file is written before it replaces `path` (same folder, so os.replace is atomic)."""
    return path.with_name(path.name + ".tmp")


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace(tmp: Path, path: Path) -> None:
    """Atomically put tmp in place of path (after syncing tmp to disk)."""
    fsync_file(tmp)
    os.replace(tmp, path)
    try:  # make the rename itself durable; not possible on every platform or file system
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def write_text_atomic(path: Path, text: str) -> None:
    tmp = temporary_path(path)
    try:
        tmp.write_text(text)
        replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise


def remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError:
        pass


# ---------------------------------------------------------------- disk space

SPACE_MARGIN = 256 * 1024  # bytes kept free beyond a write's estimate (HDF5 metadata, attributes)


def space_left(path: Path) -> float:
    """Bytes that can still be written to `path`: free space of its file system, and the
    process's file-size limit (RLIMIT_FSIZE) less the file's size. inf when unknown."""
    path = Path(path)
    left = float("inf")
    try:
        stat = os.statvfs(path.parent)
        left = stat.f_bavail * stat.f_frsize
    except (OSError, AttributeError):
        pass
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        if soft != resource.RLIM_INFINITY:
            size = path.stat().st_size if path.exists() else 0
            left = min(left, soft - size)
    except (ImportError, OSError, ValueError):
        pass
    return left


def ensure_space(path: Path, needed: float, what: str, error=OutputError) -> None:
    """Raise `error` (one line) before writing when `needed` bytes (an upper bound) will not fit."""
    left = space_left(path)
    if left < needed + SPACE_MARGIN:
        raise error(f"{path}: disk full: {what} needs up to {_size(needed + SPACE_MARGIN)}, "
                    f"{_size(max(left, 0))} left")


def _size(n: float) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"
