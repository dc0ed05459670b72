"""Checkpoints and exact resume: a run stopped at any moment (SIGKILL, SIGINT, a full disk) and
continued with `abm run --resume` ends with datasets identical, bit for bit, to an uninterrupted run."""
from __future__ import annotations

import random
import resource
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from abm.io import checkpoint as checkpoints
from abm.io.files import SPACE_MARGIN
from abm.io.xdmf import xdmf_path
from abm.core.model import TissueModel
from abm.runner import run_to_file
from run_helpers import (CONFIG, abm_command, assert_same_datasets, env, overrides, resume, set_args, start_run,
                         wait_for)

NORMAL = overrides()  # 120 steps, snapshots every 10, checkpoints every 7 (not aligned: rows are cut back)
IO_HEAVY = overrides(hours=3.0, snapshot=1, checkpoint=2)  # mostly writing: kills land inside write sessions
SEED = random.randrange(10**6)  # printed with every failure, to replay a moment: set it here


def _reference(tmp_path_factory, name, values):
    out = tmp_path_factory.mktemp("reference") / f"{name}.h5"
    start = time.perf_counter()
    run_to_file(CONFIG, overrides=values, out=out, device="cpu", progress=False, log=lambda m: None)
    return out, time.perf_counter() - start


@pytest.fixture(scope="module")
def normal_reference(tmp_path_factory):
    return _reference(tmp_path_factory, "normal", NORMAL)


@pytest.fixture(scope="module")
def io_heavy_reference(tmp_path_factory):
    return _reference(tmp_path_factory, "io", IO_HEAVY)


def _same_xdmf(path, reference):
    mine = xdmf_path(path).read_text().replace(path.name, "RUN.h5")
    assert mine == xdmf_path(reference).read_text().replace(reference.name, "RUN.h5")


# ---------------------------------------------------------------- in-process round trip


def test_checkpoint_round_trip_continues_exactly(tmp_path):
    values = overrides(shape=(30, 30), tumor=60, nk=20)
    straight = TissueModel(CONFIG, device="cpu", overrides=values)
    straight.run(9)
    saved = checkpoints.save(tmp_path / "x.checkpoint", checkpoints.capture(straight, "id"))
    loaded = checkpoints.load(saved)
    assert set(loaded.columns) == set(straight.cells.columns) and set(loaded.fields) == set(straight.fields)
    resumed = checkpoints.build_model(loaded, TissueModel, device="cpu")
    assert resumed.steps == 9 and resumed.cells.next_id == straight.cells.next_id
    straight.run(11)
    resumed.run(11)
    mine, theirs = resumed.agents_table(), straight.agents_table()
    assert all(np.array_equal(mine[name], theirs[name]) for name in theirs)
    assert all(np.array_equal(resumed.fields[name], straight.fields[name]) for name in straight.fields)
    assert resumed.totals == straight.totals and resumed.counts == straight.counts
    assert np.array_equal(resumed.lattice.occupancy, straight.lattice.occupancy)


def test_registered_extra_state_travels_with_the_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "EXTRA_STATE", {})
    checkpoints.register("memo", lambda m: {"values": np.asarray(m.memo)},
                         lambda m, arrays: setattr(m, "memo", arrays["values"].tolist()))
    model = TissueModel(CONFIG, device="cpu", overrides=overrides(shape=(30, 30), tumor=60, nk=20))
    model.memo = [3, 1, 4]
    path = checkpoints.save(tmp_path / "m.checkpoint", checkpoints.capture(model))
    assert checkpoints.build_model(checkpoints.load(path), TissueModel, device="cpu").memo == [3, 1, 4]


# ---------------------------------------------------------------- signals at random moments

EXIT = {signal.SIGKILL: -signal.SIGKILL, signal.SIGINT: 130, signal.SIGTERM: 143}


class Chain:
    """One run stopped by a list of signals at random moments, resumed after each, then finished."""

    def __init__(self, tmp_path, name, reference, duration, values, signals, rng):
        self.out, self.reference, self.duration = tmp_path / f"{name}.h5", reference, duration
        self.signals, self.rng, self.log = list(signals), rng, []
        self.total = round(values["time.duration_h"] * 10)  # dt_min is 6
        self.process = start_run(self.out, values)
        wait_for(self.out, self.process)
        self._arm()

    def _arm(self):
        done = 0
        if checkpoints.checkpoint_path(self.out).exists():
            done = checkpoints.load(checkpoints.checkpoint_path(self.out)).step
        left = self.duration * (self.total - done) / self.total
        signal_number = self.signals[0] if self.signals else None
        # SIGKILL: any moment, even after the end; SIGINT/SIGTERM: while steps are still being computed
        span = 1.2 * left if signal_number == signal.SIGKILL else 0.5 * left
        self.due = time.monotonic() + self.rng.uniform(0.0, span)

    def advance(self) -> bool:
        """Send the next signal when due, check the stopped file, resume. False when finished."""
        if not self.signals:
            return False
        if time.monotonic() < self.due:
            return True
        number = self.signals.pop(0)
        self.process.send_signal(number)
        _, err = self.process.communicate(timeout=120)
        context = f"SEED={SEED} {self.out.name} after {self.log}: {signal.Signals(number).name}: {err}"
        self.log.append(signal.Signals(number).name)
        assert "Traceback" not in err, context
        with h5py.File(self.out, "r") as run:  # it opens, and says whether it is complete
            status, completed = str(run.attrs["status"]), bool(run.attrs["completed"])
            rows = run["timeseries/step"].shape[0]
        assert completed == (status == "completed"), context
        if self.process.returncode != 0 or not completed:
            assert self.process.returncode == EXIT[number], context
            if number != signal.SIGKILL:  # a clean stop: checkpoint of the step it stopped at, one line
                assert status == "interrupted" and "checkpoint written" in err, context
                assert f"--resume {self.out}" in err.strip().splitlines()[-1], context
                assert checkpoints.load(checkpoints.checkpoint_path(self.out)).step == rows - 1, context
        self.process = subprocess.Popen(abm_command("run", "--resume", str(self.out), "--no-progress", "--device",
                                                    "cpu"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True, env=env())
        first = self.process.stderr.readline()  # the signal handlers are set by then
        assert "resuming" in first or "starting again" in first or "already complete" in first, first
        if "already complete" in first:  # the last signal came after the end: nothing left to stop
            self.signals = []
        self._arm()
        return True

    def finish(self):
        _, err = self.process.communicate(timeout=300)
        assert self.process.returncode == 0 and "Traceback" not in err, f"SEED={SEED} {self.log}: {err}"
        with h5py.File(self.out, "r") as run:
            assert run.attrs["completed"] and run.attrs["status"] == "completed"
        assert_same_datasets(self.out, self.reference)
        _same_xdmf(self.out, self.reference)
        assert not checkpoints.checkpoint_path(self.out).exists(), "a completed run keeps no checkpoint"


def _chains(tmp_path, plans, label):
    rng = random.Random(f"{SEED}-{label}")
    chains = [Chain(tmp_path, f"{label}{i}", *plan, rng) for i, plan in enumerate(plans)]
    while any([chain.advance() for chain in chains]):  # side by side; each at its own moments
        time.sleep(0.01)
    for chain in chains:
        chain.finish()


def test_signals_at_random_moments_then_resume_gives_identical_datasets(tmp_path, normal_reference,
                                                                         io_heavy_reference):
    """SIGKILL and SIGINT (and SIGTERM) at random moments; after each, `abm run --resume`."""
    _chains(tmp_path, [(*normal_reference, NORMAL, [signal.SIGKILL, signal.SIGINT]),
                       (*io_heavy_reference, IO_HEAVY, [signal.SIGINT, signal.SIGKILL, signal.SIGTERM])], "chain")


@pytest.mark.slow
def test_many_signals_at_random_moments(tmp_path, normal_reference, io_heavy_reference):
    for batch in range(3):
        _chains(tmp_path, [(*normal_reference, NORMAL, [signal.SIGKILL] * 3 + [signal.SIGINT] * 2),
                           (*io_heavy_reference, IO_HEAVY, [signal.SIGKILL, signal.SIGINT] * 3)], f"many{batch}-")


# ---------------------------------------------------------------- special cases


def _in_process(argv, capsys):
    from abm.cli import main

    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr().err


def test_resume_of_a_completed_run_is_a_no_op_message(normal_reference, capsys):
    reference, _ = normal_reference
    before = reference.read_bytes()
    code, err = _in_process(["run", "--resume", str(reference)], capsys)
    assert code == 0 and "already complete" in err and len(err.splitlines()) == 1
    assert reference.read_bytes() == before


@pytest.mark.parametrize("args, text", [
    (["--resume", "missing.h5"], "no such run file"),
    (["--resume", "x.h5", "--set", "seed=3"], "--set"),
    (["--resume", "x.h5", CONFIG], "CONFIG"),
    ([], "CONFIG"),
])
def test_resume_usage_errors_are_one_line(tmp_path, monkeypatch, capsys, args, text):
    monkeypatch.chdir(tmp_path)
    code, err = _in_process(["run", *args], capsys)
    assert code == 2 and err.startswith("abm: error:") and text in err and len(err.strip().splitlines()) == 1


def test_resume_of_a_file_that_is_not_a_run_is_one_line(tmp_path, capsys):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as file:
        file["x"] = [1, 2, 3]
    code, err = _in_process(["run", "--resume", str(other)], capsys)
    assert code == 2 and "not a tissue-abm run" in err and len(err.strip().splitlines()) == 1


def _stopped_run(tmp_path, monkeypatch, values, at_step):
    """An in-process run that stops with an exception inside step `at_step` (as a crash would)."""
    from abm.core import model as model_module

    original = model_module.TissueModel.step

    def failing(self):
        if self.steps == at_step:
            raise KeyboardInterrupt
        original(self)

    out = tmp_path / "stopped.h5"
    with monkeypatch.context() as patch:
        patch.setattr(model_module.TissueModel, "step", failing)
        with pytest.raises(KeyboardInterrupt):
            run_to_file(CONFIG, overrides=values, out=out, device="cpu", progress=False, log=lambda m: None)
    return out


def test_a_damaged_run_file_is_written_again_from_step_0(tmp_path, monkeypatch, normal_reference):
    from abm.runner import resume_file

    reference, _ = normal_reference
    out = _stopped_run(tmp_path, monkeypatch, NORMAL, at_step=50)
    assert checkpoints.load(checkpoints.checkpoint_path(out)).step == 49
    with open(out, "r+b") as file:  # as if the machine died in a write: HDF5 cannot open it any more
        file.truncate(out.stat().st_size // 2)
    with pytest.raises(OSError):
        h5py.File(out, "r")
    notes = []
    resume_file(out, device="cpu", progress=False, log=notes.append)
    assert "damaged" in notes[0]
    assert_same_datasets(out, reference)


def test_without_checkpoints_a_stopped_run_starts_again(tmp_path, tmp_path_factory, monkeypatch):
    from abm.runner import resume_file

    values = overrides(checkpoint=0)
    reference, _ = _reference(tmp_path_factory, "nocp", values)
    out = _stopped_run(tmp_path, monkeypatch, values, at_step=33)
    assert not checkpoints.checkpoint_path(out).exists()
    notes = []
    resume_file(out, device="cpu", progress=False, log=notes.append)
    assert "starting again from step 0" in notes[0]
    assert_same_datasets(out, reference)


def _limit_file_size(limit):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE stands in for a full disk on Linux")
def test_a_full_disk_is_one_line_and_the_run_resumes(tmp_path, normal_reference):
    reference, _ = normal_reference
    out = tmp_path / "full.h5"
    # The file system fills up on the way: the writer keeps SPACE_MARGIN free beyond each write's
    # estimate, so with room for the whole file plus half the margin it stops before the end.
    limit = reference.stat().st_size + SPACE_MARGIN // 2
    done = subprocess.run(abm_command("run", CONFIG, "--out", str(out), "--no-progress", "--device", "cpu",
                                      *set_args(NORMAL)),
                          capture_output=True, text=True, env=env(), preexec_fn=_limit_file_size(limit), timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert lines[-1].startswith("abm: error:") and str(out) in lines[-1] and "resume" in lines[-1], lines
    assert "Traceback" not in done.stderr
    with h5py.File(out, "r") as run:  # what was written before is still readable
        assert not run.attrs["completed"]
        assert run["timeseries/step"].shape[0] > 1
    finished = resume(out)  # space is back
    assert finished.returncode == 0, finished.stderr
    assert_same_datasets(out, reference)
