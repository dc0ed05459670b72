"""The child process of probe.check: `python -P probe_child.py FILE` reads every object's metadata
of an HDF5 file and exits 0, or prints HDF5's error as one line and exits 1 (3: the file stayed
locked by a writer). Imports the standard library and h5py only (starts in ~0.15 s).

Before each object it re-arms two timers whose signals' default action ends this process, even
inside one of the library's endless loops, which no Python signal handler, thread or timer could
interrupt (the loop holds the GIL): SIGPROF after CPU_S seconds of CPU time (the loops spin at
100 % CPU; reading one object's metadata takes milliseconds, and CPU time does not run out
merely because a busy machine starves this process), and SIGALRM after WALL_S seconds of
waiting (a file system that stopped answering).
"""
import signal
import sys
import time

CPU_S = 1.0  # CPU seconds spent on one object: a loop on damaged metadata
WALL_S = 30  # seconds without progress on one object, CPU or not
LOCK_WAIT_S = 30.0  # as files.READER_WAIT_S: how long to wait for a writer's lock
EXIT_DAMAGED = 1
EXIT_LOCKED = 3


def _arm():
    signal.setitimer(signal.ITIMER_PROF, CPU_S)
    signal.alarm(WALL_S)


def _open(path):
    """h5py.File(path, "r"), retrying while a writer holds the lock (each retry is progress)."""
    import h5py

    start, delay = time.monotonic(), 0.002
    while True:
        _arm()
        try:
            return h5py.File(path, "r", locking="best-effort")
        except OSError as error:
            if "unable to lock file" not in str(error) or time.monotonic() - start > LOCK_WAIT_S:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def _touch(obj) -> None:
    """Read what a reader may read of one object's metadata: attributes, shape, chunk index."""
    import h5py

    _arm()
    for name in obj.attrs:
        obj.attrs[name]  # variable-length strings: the global heap is parsed here
    if isinstance(obj, h5py.Dataset):
        _ = obj.shape, obj.dtype, obj.compression
        if obj.chunks is not None:
            obj.id.get_num_chunks()  # walks the chunk index


def walk(path) -> None:
    with _open(path) as file:
        _touch(file)
        file.visititems(lambda _name, obj: _touch(obj))


def main(path) -> int:
    for number in (signal.SIGPROF, signal.SIGALRM):  # an ignored signal would be inherited
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})  # blocked by the parent
    try:
        walk(path)
    except Exception as error:  # noqa: BLE001 - any failure to read is the answer
        text = " ".join(str(error).split()) or error.__class__.__name__
        print(text, flush=True)
        return EXIT_LOCKED if "unable to lock file" in text else EXIT_DAMAGED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
