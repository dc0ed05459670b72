"""HDF5 output: layout, attributes with units, incomplete marking, reader API, CLI info/plot."""
import json
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from abm.cli import main
from abm.io.reader import open_run
from abm.runner import run_to_file

SMALL = {"lattice.shape": [30, 30], "time.duration_h": 2.0, "placement.0.count": 60, "placement.1.count": 20,
         "output.snapshot_every_steps": 5}


def test_layout_attributes_and_reader(tmp_path):
    path = run_to_file("configs/default.yaml", overrides=SMALL, out=tmp_path / "r.h5", device="cpu",
                       progress=False, log=lambda m: None)
    with h5py.File(path, "r") as f:
        for key in ("package_version", "git_commit", "config_yaml", "config_source_text", "seed", "device",
                    "units", "start_time", "end_time", "completed", "dx_um", "dt_min"):
            assert key in f.attrs, key
        assert f.attrs["completed"] and f.attrs["status"] == "completed"
        assert "ifng" in f.attrs["config_yaml"] and "duration_h: 2.0" in f.attrs["config_yaml"]
        assert json.loads(f.attrs["units"])["time_h"] == "h"
        assert f["timeseries/time_h"].attrs["units"] == "h"
        snapshot = f["snapshots/00000020"]
        assert snapshot["fields/ifng"].attrs["units"] == "a.u."  # configs/parameters/tissue_model.yaml
        assert snapshot["lattice/cell_type"].compression == "gzip"
        assert sorted(int(s) for s in f["snapshots"]) == [0, 5, 10, 15, 20]
    with open_run(path) as run:
        series = run.timeseries()
        assert list(series["step"]) == list(range(21))
        snap = run.snapshot(10)
        occupied = snap["cell_type"] >= 0
        assert occupied.sum() == len(snap["agents"]["id"]) == series["tumor"].iloc[10] + series["nk"].iloc[10]
        sites = np.unravel_index(snap["agents"]["site"], snap["cell_type"].shape)
        assert np.array_equal(snap["cell_type"][sites], snap["agents"]["cell_type"])


def test_a_run_interrupted_by_an_exception_is_marked_incomplete(tmp_path, monkeypatch):
    from abm.core import model as model_module

    original = model_module.TissueModel.step

    def failing_step(self):
        if self.steps == 7:
            raise KeyboardInterrupt
        original(self)

    monkeypatch.setattr(model_module.TissueModel, "step", failing_step)
    with pytest.raises(KeyboardInterrupt):
        run_to_file("configs/default.yaml", overrides=SMALL, out=tmp_path / "i.h5", device="cpu",
                    progress=False, log=lambda m: None)
    with h5py.File(tmp_path / "i.h5", "r") as f:
        assert not f.attrs["completed"] and f.attrs["status"] == "interrupted"
        assert f["timeseries/step"].shape[0] == 7  # steps 0..6 were written before the interruption


def test_a_killed_run_leaves_an_incomplete_file(tmp_path):
    out = tmp_path / "k.h5"
    process = subprocess.Popen([sys.executable, "-m", "abm", "run", "configs/default.yaml", "--out", str(out),
                                "--no-progress", "--device", "cpu", "--set", "time.duration_h=1000"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not out.exists():
        time.sleep(0.1)
    time.sleep(1.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with h5py.File(out, "r") as f:
        assert not f.attrs["completed"] and f.attrs["status"] == "running"


def test_cli_info_and_plot(tmp_path, capsys):
    path = run_to_file("configs/default.yaml", overrides=SMALL, out=tmp_path / "r.h5", device="cpu",
                       progress=False, log=lambda m: None)
    assert main(["info", str(path)]) == 0
    assert "completed True" in capsys.readouterr().out
    assert main(["plot", str(path), "--out", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "r.png").stat().st_size > 10_000


def test_info_on_a_corrupt_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 100)
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("abm: error:") and "bad.h5" in err and "\n" not in err


def test_parallel_runs_create_their_shared_output_folder_without_racing(tmp_path):
    """Validation and sweeps start runs in parallel that write into one new folder: the folder is
    created by whichever gets there first, and none of them fails because another just made it."""
    import threading

    from abm.io.hdf5 import check_writable

    folder = tmp_path / "study" / "baseline"
    start = threading.Barrier(16)
    failures = []

    def one_run(index):
        start.wait()
        try:
            check_writable(folder / f"seed{index:03d}.h5", overwrite=False)
        except Exception as error:  # noqa: BLE001 - any failure is the test's finding
            failures.append(error)

    threads = [threading.Thread(target=one_run, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and folder.is_dir()


def test_an_output_folder_that_is_a_file_is_a_one_line_error(tmp_path):
    from abm.io.hdf5 import OutputError, check_writable

    (tmp_path / "runs").write_text("not a folder")
    with pytest.raises(OutputError, match="cannot create output folder"):
        check_writable(tmp_path / "runs" / "a.h5", overwrite=False)
