"""Reading a run from other processes while it is being written: `abm info`, the reader and
`abm plot` work, and the run is not disturbed (its datasets equal an undisturbed run's)."""
from __future__ import annotations

from pathlib import Path

import h5py

import abm
from abm.cli import main
from abm.viz.plot import plot_run
from run_helpers import assert_same_datasets, overrides, start_run, wait_for

LIVE = overrides(hours=60.0, snapshot=5, checkpoint=25)  # 600 steps, 120 snapshots: seconds of writing
STEPS = 600


def test_info_reader_and_plot_work_on_a_run_being_written(tmp_path, capsys):
    reference, out = tmp_path / "reference.h5", tmp_path / "live.h5"
    undisturbed = start_run(reference, LIVE)  # side by side with the live run, nobody reads it
    process = start_run(out, LIVE)
    wait_for(out, process)
    live = {"info": 0, "reader": 0, "plot": 0}  # reads that found the run still being written
    last_rows, reads = 0, 0
    while process.poll() is None or reads == 0:
        assert main(["info", str(out)]) == 0  # this test is another process than the run
        stdout = capsys.readouterr().out
        assert "status     running" in stdout or "status     completed" in stdout, stdout
        live["info"] += "status     running" in stdout

        series = abm.read_timeseries(out)
        assert list(series["step"]) == list(range(len(series)))  # whole rows only, in order
        assert len(series) >= last_rows
        last_rows = len(series)
        snapshot = abm.read_snapshot(out)
        assert snapshot["cell_type"].shape == tuple(LIVE["lattice.shape"])
        assert snapshot["step"] % LIVE["output.snapshot_every_steps"] == 0
        live["reader"] += len(series) < STEPS + 1

        picture = plot_run(out, tmp_path / f"live{reads}.png")
        assert Path(picture.path).stat().st_size > 10_000
        live["plot"] += not picture.completed

        assert main(["plot", str(out), "--out", str(tmp_path / "cli.png")]) == 0
        capsys.readouterr()
        reads += 1
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert min(live.values()) >= 1, f"some reads never found the run being written: {live}"
    with h5py.File(out, "r") as run:
        assert run.attrs["completed"]
    assert undisturbed.wait(timeout=300) == 0
    assert_same_datasets(out, reference)
