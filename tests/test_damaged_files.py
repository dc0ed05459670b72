"""Damaged run files and early stop requests (issue 14).

Every command that reads a run answers a damaged file with one line naming it and exit status 2,
never a hang nor a traceback; the sweep's and validation's reuse checks call such a file unusable
(so the run is done again). Ctrl-C or SIGTERM before the first step ends a command at once, with
exit status 128 + the signal's number.

The time limits here are hang guards that a machine busy with other work meets (HANG_S, and CPU
seconds, which other jobs do not inflate); how quickly each kind of damage is answered is
measured by benchmarks/damaged_answer_time.py (results in benchmarks/results/).

The commands run as real `abm` processes. A file of each kind is made from one tiny run; the
"heap" kind has its global heap (where text attributes live, without checksums in any HDF5
format) partly zeroed, which sends HDF5 into an endless loop in the reading process.
"""
from __future__ import annotations

import fcntl
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from abm import TissueModel
from abm.io import checkpoint as checkpoints
from abm.io import probe
from abm.io.resume import plan
from abm.runner import run_to_file
from abm.sweep.worker import checkpoint_step, output_state
from abm.validate.runner import _complete_with_config
from run_helpers import CONFIG, ROOT, abm_command, env, overrides, set_args

TINY = overrides(shape=(24, 24), hours=0.4, tumor=10, nk=4, snapshot=2, checkpoint=2)  # 4 steps
HANG_S = 120.0  # wall clock: a damaged file is answered, a stop obeyed, well within this on a busy machine
CPU_S = 30.0  # CPU seconds of a command and its children: a spinning loop shows here, load does not
KINDS = ("truncated", "zeroed", "random", "empty", "heap", "not_a_run")
COMMANDS = ("info", "plot", "movie", "resume")
EXPECTED = {"truncated": "truncated run file", "random": "not an HDF5 file", "empty": "not an HDF5 file",
            "not_a_run": "not a tissue-abm run", "zeroed": "damaged", "heap": "damaged"}


def _quiet(_message):
    pass


def zero_global_heap(data: bytes) -> bytes:
    """The file with the first objects of its first global heap collection zeroed."""
    start = data.index(b"GCOL") + 16  # signature, version, reserved, collection size
    return data[:start] + bytes(256) + data[start + 256:]


def make(kind: str, good: bytes, path: Path) -> Path:
    if kind == "not_a_run":
        with h5py.File(path, "w") as file:
            file["data"] = np.arange(10)
        return path
    n = len(good)
    content = {"truncated": good[: n // 2],
               "zeroed": good[: n // 4] + bytes(n // 2) + good[n // 4 + n // 2:],  # the middle half
               "random": random.Random(14).randbytes(n),
               "empty": b"",
               "heap": zero_global_heap(good)}[kind]
    path.write_bytes(content)
    return path


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("good") / "good.h5"
    run_to_file(CONFIG, overrides=TINY, out=out, device="cpu", progress=False, log=_quiet)
    return out.read_bytes()


def _args(command: str, path: Path) -> list[str]:
    if command == "resume":
        return ["run", "--resume", str(path), "--no-progress", "--device", "cpu"]
    if command == "info":
        return ["info", str(path)]
    return [command, str(path), "--out", str(path.with_suffix(".gif" if command == "movie" else ".png"))]


def answer(argv: list[str], hang_s: float = HANG_S) -> tuple[int, str, float, float]:
    """(exit status, stderr, wall seconds, CPU seconds of the process and the children it waited
    for) of a command, killed after hang_s. wait4 gives this process's own CPU time, wherever
    other processes run at the same time (the test runs four at once)."""
    with tempfile.TemporaryFile("w+") as err:
        start = time.monotonic()
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                   text=True, cwd=ROOT, env=env())
        guard = threading.Timer(hang_s, process.kill)
        guard.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            guard.cancel()
        seconds = time.monotonic() - start
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        err.seek(0)
        return process.returncode, err.read(), seconds, usage.ru_utime + usage.ru_stime


def _answer(path: Path, command: str) -> tuple:
    return answer(abm_command(*_args(command, path)))


@pytest.fixture(scope="module")
def answers(good_run, tmp_path_factory) -> dict:
    """(kind, command) -> (path, exit status, stderr, seconds, CPU seconds): every command on its
    own copy, four processes at a time."""
    folder = tmp_path_factory.mktemp("damaged")
    paths = {(kind, command): make(kind, good_run, folder / f"{kind}-{command}.h5")
             for kind in KINDS for command in COMMANDS}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {key: pool.submit(_answer, path, key[1]) for key, path in paths.items()}
        return {key: (paths[key], *future.result()) for key, future in futures.items()}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_file_is_one_line_and_exit_status_2(answers, kind, command):
    path, code, stderr, seconds, cpu = answers[kind, command]
    lines = stderr.strip().splitlines()
    assert code == 2, f"{stderr} (after {seconds:.1f} s)"
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    assert lines[0].startswith(f"abm: error: {path}: ") and EXPECTED[kind] in lines[0], lines[0]
    assert seconds < HANG_S and cpu < CPU_S, f"{seconds:.1f} s, {cpu:.1f} s of CPU: {lines[0]}"


def test_the_zeroed_heap_is_reported_without_hanging(answers):
    """HDF5 loops on this damage; the child process reading the metadata is stopped instead."""
    stderr = answers["heap", "info"][2]
    assert "went round in circles" in stderr or "damaged run file (" in stderr, stderr


def test_resume_leaves_a_damaged_file_as_it_is(answers, good_run):
    for kind in KINDS:
        path = answers[kind, "resume"][0]
        if kind != "not_a_run":
            assert path.read_bytes() == make(kind, good_run, path.with_name("again.h5")).read_bytes(), kind
        assert not checkpoints.checkpoint_path(path).exists()


# ---------------------------------------------------------------- answered from the first bytes


def _no_child(path):
    raise AssertionError(f"a child process was started for {path}")


@pytest.mark.parametrize("kind", ["truncated", "empty", "random"])
def test_the_first_bytes_answer_without_a_child_process(good_run, tmp_path, kind, monkeypatch):
    """The commonest damage needs no child (whose start alone is seconds on a busy machine)."""
    monkeypatch.setattr(probe, "_run_child", _no_child)
    path = make(kind, good_run, tmp_path / f"{kind}.h5")
    with pytest.raises(probe.Damaged) as error:
        probe.check(path, "run file")
    assert str(error.value).startswith(f"{path}: ") and EXPECTED[kind] in str(error.value), error.value


@pytest.mark.parametrize("userblock", [0, 1024])
@pytest.mark.parametrize("libver", ["earliest", "v108", "latest"])  # superblock versions 0, 2, 3
def test_truncation_is_read_as_hdf5_reads_it(tmp_path, libver, userblock):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w", libver=libver, userblock_size=userblock) as file:
        file["x"] = np.arange(100_000)
    assert probe.quick_verdict(path) is None
    whole = path.read_bytes()
    for cut in (len(whole) - 1, len(whole) // 2, userblock + 200):
        path.write_bytes(whole[:cut])
        assert probe.quick_verdict(path).startswith("truncated file"), cut
        with pytest.raises(OSError, match="truncated file"):
            h5py.File(path, "r")  # HDF5 says the same


def test_a_damaged_superblock_or_a_writer_leaves_the_answer_to_the_child(good_run, tmp_path):
    path = tmp_path / "run.h5"
    half = bytearray(good_run[: len(good_run) // 2])
    half[30] ^= 0xFF  # in the end-of-file address: the superblock's checksum fails, HDF5 words that
    path.write_bytes(half)
    assert probe.quick_verdict(path) is None
    with pytest.raises(probe.Damaged, match="damaged run file"):
        probe.check(path, "run file")
    path.write_bytes(good_run[: len(good_run) // 2])
    with open(path, "rb") as writer:  # a writer's session: its size and superblock may be changing
        fcntl.flock(writer, fcntl.LOCK_EX)
        assert probe.quick_verdict(path) is None
    assert probe.quick_verdict(path).startswith("truncated file")


def test_lookup3_is_hdf5s_checksum(good_run):
    assert probe.lookup3(b"") == 0xDEADBEEF
    assert probe.lookup3(good_run[:44]) == int.from_bytes(good_run[44:48], "little")  # superblock v2


# ---------------------------------------------------------------- sweep and validate reuse checks


@pytest.mark.parametrize("kind", KINDS)
def test_reuse_checks_call_a_damaged_output_unusable_in_seconds(good_run, tmp_path, kind):
    path = make(kind, good_run, tmp_path / "seed000.h5")
    start = time.monotonic()
    assert output_state(path, "config") in ("unreadable", "incomplete")  # the sweep runs it again
    assert not _complete_with_config(path, "config")  # so does the validation
    checkpoint = make(kind, good_run, checkpoints.checkpoint_path(path))
    assert checkpoint_step(path, "config") is None  # not resumed from
    assert time.monotonic() - start < HANG_S


def test_a_damaged_checkpoint_means_starting_again(good_run, tmp_path):
    """An incomplete run whose checkpoint is damaged resumes from step 0 with its stored config."""
    path = tmp_path / "run.h5"
    path.write_bytes(good_run)
    with h5py.File(path, "r+") as file:
        file.attrs["completed"] = False
    checkpoint = checkpoints.checkpoint_path(path)
    checkpoint.write_bytes(zero_global_heap(good_run))  # any damaged HDF5 file will do
    start = time.monotonic()
    chosen = plan(path, TissueModel, device="cpu")
    assert time.monotonic() - start < HANG_S
    assert chosen.step == 0 and not chosen.damaged, chosen.note
    assert "checkpoint" in chosen.note and "starting again from step 0" in chosen.note, chosen.note
    assert yaml.safe_load(chosen.config_yaml)["lattice"]["shape"] == [24, 24]


# ---------------------------------------------------------------- stop requests before the first step


def _probe_child(pid: int) -> int | None:
    """The process reading a file for process pid (abm/io/probe_child.py), if it runs (Linux /proc)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and b"probe_child.py" in command:
            return int(stat.parent.name)
    return None


def _interruptible():
    """The child's Ctrl-C as a user's: SIGINT at its default, even when this test runs from a
    shell that started it in the background (which ignores SIGINT, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_until(condition, process, timeout=HANG_S):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the moment to signal never came"
        time.sleep(0.005)


def _stop(process, number) -> tuple[int, str, float]:
    start = time.monotonic()
    process.send_signal(number)
    _, err = process.communicate(timeout=HANG_S)
    return process.returncode, err, time.monotonic() - start


def _check_stopped(code, err, seconds, number):
    lines = err.strip().splitlines()
    assert code == 128 + number, err
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("abm: stopped by"), err
    # "At once" shows in what is left (the stop message, no file): waiting for the set-up or the
    # child would end otherwise. The time is a hang guard only.
    assert seconds < HANG_S, f"{seconds:.2f} s after {signal.Signals(number).name}"


needs_proc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds child processes in /proc")


@needs_proc
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_while_a_run_is_set_up_ends_it_at_once(tmp_path, number):
    """A large lattice takes a second or two to build and write at step 0; the signal comes as
    soon as the output folder is made (before the model is built). No file is left."""
    out = tmp_path / "new" / "run.h5"
    big = overrides(shape=(3000, 3000), hours=1.0)
    process = subprocess.Popen(abm_command("run", CONFIG, "--out", str(out), "--no-progress", "--device", "cpu",
                                           *set_args(big)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env(),
                               preexec_fn=_interruptible)
    _wait_until(out.parent.exists, process)
    _check_stopped(*_stop(process, number), number)
    assert list(out.parent.iterdir()) == [], "a stopped setup leaves no file"


@needs_proc
@pytest.mark.parametrize("command", ["info", "resume"])
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_while_a_damaged_file_is_read_ends_it_at_once(good_run, tmp_path, command, number):
    """The signal comes while HDF5 spins on the damaged heap (in the child reading the file)."""
    path = make("heap", good_run, tmp_path / "heap.h5")
    before = path.read_bytes()
    process = subprocess.Popen(abm_command(*_args(command, path)), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env(), preexec_fn=_interruptible)
    children = []
    _wait_until(lambda: children.append(_probe_child(process.pid)) or children[-1], process)
    child = children[-1]
    _check_stopped(*_stop(process, number), number)
    assert not Path(f"/proc/{child}").exists(), "the reading child is ended with the command"
    assert path.read_bytes() == before
