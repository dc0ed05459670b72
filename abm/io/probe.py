"""Checking an HDF5 file in a separate process that cannot hang: a damaged file is an error in
seconds, never an endless loop.

Why (docs/output.md, "Damaged files"): HDF5 has loops that damaged metadata can make endless.
Checksums (the 1.8 file format, files.LIBVER) turn most damage into an error, but not all: the
global heap, where variable-length strings (every text attribute) are kept, has no checksum in
any format version, and a partly zeroed one sends H5HG__cache_heap_deserialize into a loop that
holds the GIL, so nothing in the reading process can stop it (nor Ctrl-C, nor SIGTERM's handler).

So readers call `check(path)` first. The commonest damage, an empty file, one that is not HDF5,
or one cut short (a copy or a write that stopped), shows in the file's first bytes: check reads
them in this process (quick_verdict) and answers at once, as HDF5 would word it, without a child
(whose start alone takes ~0.15 s of CPU, and seconds on a busy machine). Otherwise it runs
probe_child.py in a child process, which reads
every object's metadata and is ended by a timer when HDF5 spins on one object for CPU_S seconds
of CPU (or makes no progress for WALL_S seconds). Once the child got through, the caller reads the same metadata in its own process
without risk; dataset data (chunks carry Fletcher-32 checksums, gzip checks its stream) fails
with an error when damaged, which the readers turn into one line as well.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..errors import OutputError
from . import probe_child
from .probe_child import CPU_S, EXIT_DAMAGED, EXIT_LOCKED, LOCK_WAIT_S, WALL_S


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class Damaged(OutputError):
    """The file cannot be read: not HDF5, truncated, or damaged (the message is one line)."""


_checked: dict[str, tuple] = {}  # files found sound, by path: (inode, size, mtime) when checked


def _identity(path: Path) -> tuple:
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def check(path, what: str = "HDF5 file") -> None:
    """Raise Damaged (one line naming the file) unless every object's metadata in `path` reads
    without error, HDF5 answering within CPU_S seconds of CPU on each object; OutputError if a writer
    keeps it locked. A file unchanged since its last check in this process is not read again."""
    path = Path(path)
    try:
        identity = _identity(path)
    except OSError as error:
        raise OutputError(f"{path}: cannot read the {what} ({error.strerror})") from None
    if _checked.get(str(path)) == identity:
        return
    verdict = quick_verdict(path)
    if verdict is not None:
        raise Damaged(f"{path}: {describe(verdict, what)}")
    code, stdout, stderr = _run_child(path)
    if code == 0:
        _checked[str(path)] = identity
        return
    reason = (stdout.strip().splitlines() or [""])[-1]
    if code == EXIT_LOCKED:
        from .files import FileBusy  # here, not above: it imports h5py, which `abm info` imports meanwhile

        raise FileBusy(f"{path}: another program holds the file open (waited {LOCK_WAIT_S:.0f} s); "
                          "try again when it has closed it")
    if code == -signal.SIGPROF:
        raise Damaged(f"{path}: damaged {what}: HDF5 went round in circles reading its metadata "
                      f"(stopped after {CPU_S:g} s of CPU on one object)")
    if code == -signal.SIGALRM:
        raise Damaged(f"{path}: unreadable {what}: reading its metadata stalled (no progress in {WALL_S} s)")
    if code == EXIT_DAMAGED:
        raise Damaged(f"{path}: {describe(reason, what)}")
    detail = (stderr.strip().splitlines() or [f"exit status {code}"])[-1]
    raise OutputError(f"{path}: the {what} could not be checked ({detail})")


def _run_child(path: Path) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of probe_child.py on path. On Ctrl-C, SIGTERM's handler or
    any other exception here, the child is killed and reaped at once before the exception goes
    on: it may be spinning inside HDF5, and must not outlive the command. (Popen.communicate and
    wait would first give it a quarter of a second to end on its own.)"""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        child = None
        try:
            with _stops_held():  # a stop landing inside Popen, after the child started, would leave it running
                # -P: the child's folder (abm/io, modules named like others) is not put on sys.path.
                child = subprocess.Popen([sys.executable, "-P", probe_child.__file__, str(path)],
                                         stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, text=True)
            delay = 0.001
            while child.poll() is None:
                time.sleep(delay)  # signal handlers run here
                delay = min(delay * 2, 0.02)
        except BaseException:
            if child is not None:
                child.kill()
                child.wait()
            raise
        stdout.seek(0)
        stderr.seek(0)
        return child.returncode, stdout.read(), stderr.read()


@contextlib.contextmanager
def _stops_held():
    """SIGINT and SIGTERM arriving inside the block take effect just after it.

    In the main thread their Python handlers are swapped for one that only notes the signal:
    blocking them in this thread alone is not enough, since the kernel then hands them to another
    thread (NumPy's BLAS pool), whose C handler still has the main thread run the Python handler
    at its next bytecode, inside Popen. Other threads run no Python signal handlers; there
    blocking is enough (the child unblocks them for itself)."""
    held: list[int] = []
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    swap = threading.current_thread() is threading.main_thread() and None not in previous.values()
    if swap:
        for number in STOP_SIGNALS:
            signal.signal(number, lambda number, _frame: held.append(number))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a signal blocked meanwhile is handled here
        if swap:
            for number, handler in previous.items():
                signal.signal(number, handler)
            for number in dict.fromkeys(held):
                signal.raise_signal(number)  # now the caller's handler runs: the child is known


def describe(reason: str, what: str = "HDF5 file") -> str:
    """HDF5's message about a file it cannot read, as the part of one line after the file name."""
    if "file signature not found" in reason:
        return f"not an HDF5 file (empty, or not written by HDF5), so not a readable {what}"
    if "truncated file" in reason:
        return f"truncated {what} (shorter than its contents say: cut off while copying or writing?)"
    return f"damaged {what} ({reason})"


def reason(error: BaseException) -> str:
    """First line of an exception's message, whitespace collapsed (HDF5's messages are long)."""
    return " ".join(str(error).split()) or error.__class__.__name__


# ---------------------------------------------------------------- the first bytes, without a child

SIGNATURE = b"\x89HDF\r\n\x1a\n"


def quick_verdict(path) -> str | None:
    """Why HDF5 would refuse the file, read from its first bytes, in HDF5's words (which describe()
    turns into one line): "file signature not found" for an empty file or one without HDF5's
    signature, "truncated file" for one shorter than the end-of-file address its superblock
    records. None when the first bytes look sound (the child then reads the metadata), cannot be
    read, or a writer holds the file: in a write session its size and superblock may change, so
    the child, which waits for the lock, decides."""
    try:
        with open(path, "rb") as file:
            if not _shared_lock(file.fileno()):
                return None
            size = os.fstat(file.fileno()).st_size
            start = _signature_at(file, size)
            if start is None:
                return "file signature not found" + (" (empty file)" if size == 0 else "")
            stored_eof = _stored_eof(file, start)
    except OSError:
        return None
    # HDF5's own test (H5F__super_read): the file's size against the absolute end-of-file address.
    if stored_eof is not None and size < stored_eof:
        return f"truncated file: eof = {size}, stored_eof = {stored_eof}"
    return None


def _shared_lock(fd: int) -> bool:
    """Take a shared lock as HDF5's readers do (flock; released when the file is closed); False
    while a writer holds the exclusive one. Where locks are not supported, HDF5 ("best-effort")
    reads without, and so does this."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        pass
    return True


def _signature_at(file, size: int) -> int | None:
    """Where HDF5 finds its signature: offset 0, or 512, 1024, 2048, ... (after a user block)."""
    offset = 0
    while offset + len(SIGNATURE) <= size:
        file.seek(offset)
        if file.read(len(SIGNATURE)) == SIGNATURE:
            return offset
        offset = 512 if offset == 0 else offset * 2
    return None


def _stored_eof(file, start: int) -> int | None:
    """The end-of-file address of the superblock at `start`, or None where the superblock is not
    one this reads with confidence (a version 2 or 3 superblock failing its checksum is damage the
    child reports in HDF5's words)."""
    file.seek(start)
    head = file.read(128)
    if len(head) < 16:
        return None
    version = head[8]
    if version in (0, 1):  # no checksum: trusted as HDF5 trusts it
        offsets, first = head[13], 24 if version == 0 else 28
    elif version in (2, 3):
        offsets, first = head[9], 12
        end = first + 4 * offsets
        if offsets not in (2, 4, 8, 16) or len(head) < end + 4 or \
                lookup3(head[:end]) != int.from_bytes(head[end:end + 4], "little"):
            return None
    else:
        return None
    at = first + 2 * offsets  # base address, then the extension's or the free space's, then EOF
    if offsets not in (2, 4, 8, 16) or len(head) < at + offsets:
        return None
    eof = int.from_bytes(head[at:at + offsets], "little")
    return None if eof == (1 << 8 * offsets) - 1 else eof  # all ones: undefined


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 hash (hashlittle), HDF5's checksum of its metadata (H5_checksum_lookup3)."""
    m = 0xFFFFFFFF

    def rot(x: int, k: int) -> int:
        return ((x << k) | (x >> (32 - k))) & m

    def word(i: int) -> int:
        return int.from_bytes(data[i:i + 4].ljust(4, b"\0"), "little")

    a = b = c = (0xDEADBEEF + len(data) + initval) & m
    i, left = 0, len(data)
    while left > 12:  # lookup3's mix, on each 12 bytes but the last
        a, b, c = (a + word(i)) & m, (b + word(i + 4)) & m, (c + word(i + 8)) & m
        a = ((a - c) & m) ^ rot(c, 4)
        c = (c + b) & m
        b = ((b - a) & m) ^ rot(a, 6)
        a = (a + c) & m
        c = ((c - b) & m) ^ rot(b, 8)
        b = (b + a) & m
        a = ((a - c) & m) ^ rot(c, 16)
        c = (c + b) & m
        b = ((b - a) & m) ^ rot(a, 19)
        a = (a + c) & m
        c = ((c - b) & m) ^ rot(b, 4)
        b = (b + a) & m
        i, left = i + 12, left - 12
    if left == 0:
        return c
    a, b, c = (a + word(i)) & m, (b + word(i + 4)) & m, (c + word(i + 8)) & m  # the tail, zero-padded
    c = ((c ^ b) - rot(b, 14)) & m  # lookup3's final
    a = ((a ^ c) - rot(c, 11)) & m
    b = ((b ^ a) - rot(a, 25)) & m
    c = ((c ^ b) - rot(b, 16)) & m
    a = ((a ^ c) - rot(c, 4)) & m
    b = ((b ^ a) - rot(a, 14)) & m
    c = ((c ^ b) - rot(b, 24)) & m
    return c
