"""abm sweep: sweep files, Dask execution (LocalCluster, --scheduler), a worker killed mid-sweep,
resuming, failing runs, the summary table, the report, and SLURM/PBS job scripts."""
import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from abm.cli import main
from abm.runner import run_to_file
from abm.sweep import load_sweep, run_sweep
from abm.sweep.worker import PART_MARK, read_journal

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
BASE = str(ROOT / "configs" / "default.yaml")
KILL = "cells.nk.kill_probability_per_contact"
DIVISION = "cells.tumor.division_rate_per_h"
PLACE = "placement.1.inner_radius_um"  # NK cells' shell: beyond the lattice, the run cannot place them
TINY = {"lattice.shape": [24, 24], "time.duration_h": 1, "placement.0.count": 30, "placement.1.count": 10}
LONGER = {**TINY, "time.duration_h": 2.5, "output.snapshot_every_steps": 2}  # 25 steps, ~0.3-1 s a run
SLOWER = {**TINY, "time.duration_h": 20.0, "output.snapshot_every_steps": 20}  # 200 steps, ~2 s a run
GRID = {KILL: [0.05, 0.5], DIVISION: [0.035, 0.2]}


def write_sweep(folder: Path, name="s", grid=None, overrides=None, common=TINY, seeds=(1, 2, 3), **extra) -> Path:
    spec = {"name": name, "base": BASE, "device": "cpu", "seeds": list(seeds), **extra}
    if grid:
        spec["grid"] = grid
    arms = overrides if overrides is not None else [{}]
    spec["overrides"] = [{**common, **arm} for arm in arms]
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def quiet(message):
    pass


def datasets(path) -> dict:
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def assert_same_datasets(a, b):
    left, right = datasets(a), datasets(b)
    assert sorted(left) == sorted(right)
    for name in left:
        x, y = np.asarray(left[name]), np.asarray(right[name])
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), f"{a}: {name} differs"


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes shared by the tests that do not kill workers."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as c:
        yield c


# ------------------------------------------------------------------ the sweep file


def test_sweep_file_expands_into_runs_with_stable_names(tmp_path):
    path = write_sweep(tmp_path, grid=GRID, seeds=(1, 2, 3))
    sweep = load_sweep(path, out_dir=tmp_path / "out")
    assert len(sweep.runs) == 12 and len({r.stem for r in sweep.runs}) == 12
    assert [r.seed for r in sweep.runs[:3]] == [1, 2, 3]
    first = sweep.runs[0]
    assert first.stem.startswith("000-") and first.stem.endswith("-seed1")
    assert first.output == str(tmp_path / "out" / f"{first.stem}.h5")
    assert first.params[KILL] == 0.05 and first.params[DIVISION] == 0.035
    assert "seed: 1" in first.expected_config
    assert [r.stem for r in load_sweep(path, out_dir=tmp_path / "out").runs] == [r.stem for r in sweep.runs]
    spec = yaml.safe_load(path.read_text())
    spec["seeds"] = {"count": 2, "start": 5}
    path.write_text(yaml.safe_dump(spec))
    assert sorted({r.seed for r in load_sweep(path).runs}) == [5, 6]


def test_the_example_sweep_file_is_valid():
    sweep = load_sweep(ROOT / "configs" / "sweeps" / "nk_kill_sweep.yaml", out_dir="unused")
    assert len(sweep.runs) == 24 and all(run.expected_config for run in sweep.runs)
    assert sweep.base == ROOT / "configs" / "default.yaml"


def test_a_sweep_starts_every_run_from_the_arm_of_its_base_it_selects(tmp_path):
    """Each run is what `abm run BASE --arm ARM --set ...` makes (the arm first, the sweep's keys after it)."""
    from abm.config.sections import load_config, to_yaml

    raw = yaml.safe_load(Path(BASE).read_text())
    raw["include"] = str(ROOT / "configs" / "parameters" / "tissue_model.yaml")
    raw["arms"] = {"fast_nk": {"cells.nk.move_rate_per_h": 20.0, KILL: 0.9}}
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(raw))
    path = write_sweep(tmp_path, grid={KILL: [0.1, 0.2]}, seeds=(1,), arm="fast_nk")
    spec = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**spec, "base": str(base)}))
    sweep = load_sweep(path, out_dir=tmp_path / "out")
    assert [run.params[KILL] for run in sweep.runs] == [0.1, 0.2]
    for run in sweep.runs:
        keys = {key: value for key, value in run.overrides.items() if key not in ("cells.nk.move_rate_per_h", "name")}
        expected = to_yaml(load_config(base, {**keys, "seed": 1}, arm="fast_nk")[0])
        assert run.expected_config == expected == to_yaml(load_config(base, run.all_overrides)[0])
        assert "move_rate_per_h: 20.0" in expected and "name: default-fast_nk" in expected


@pytest.mark.parametrize("change, message", [
    ({"colour": "red"}, "colour: unknown key"),
    ({"engine": {"kind": "local", "worker": 2}}, "engine.worker: unknown key"),
    ({"engine": {"kind": "lsf"}}, "engine.kind: unknown kind 'lsf'"),
    ({"engine": {"kind": "slurm", "gpus_per_worker": 2}}, "engine.gpus_per_worker"),
    ({"grid": {KILL: 0.5}}, f"grid.{KILL}: Input should be a valid list"),
    ({"grid": {"cells.nk.kill_prob": [0.1]}}, "grid.cells.nk.kill_prob: no such key in the base config"),
    ({"grid": {"seed": [1, 2]}}, "grid.seed: set seeds with the top-level seeds key"),
    ({"seeds": {"count": 0}}, "seeds.count"),
    ({"seeds": [1, 1]}, "seeds: a seed is listed twice"),
    ({"base": "nowhere.yaml"}, "base: config file 'nowhere.yaml' not found"),
    ({"name": "a b"}, "name: String should match pattern"),
    ({"arm": "no_such_arm"}, "arm: 'no_such_arm' is not an arm of"),
])
def test_bad_sweep_files_are_one_line_errors_with_exit_2(tmp_path, capsys, change, message):
    path = write_sweep(tmp_path, grid=GRID)
    spec = yaml.safe_load(path.read_text())
    spec.update(change)
    path.write_text(yaml.safe_dump(spec))
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"abm: error: {path}: "), err
    assert message in err, err


# ------------------------------------------------------------------ fault tolerance


def test_a_worker_killed_mid_sweep_loses_no_run_and_duplicates_none(tmp_path):
    """2 x 2 x 3 sweep on two worker processes; one worker is SIGKILLed while it writes a run.
    Every run is published exactly once, the killed attempt is retried on a worker, no
    half-written file is left, and every output equals the same run done alone with run_to_file."""
    path = write_sweep(tmp_path, grid=GRID, common=LONGER, seeds=(1, 2, 3))
    folder = tmp_path / "out"
    killed, done = {}, threading.Event()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        worker_pids = set(client.run(os.getpid).values())
        assert len(worker_pids) == 2

        def kill_a_worker_mid_run():
            """Once a run is published, SIGKILL the worker of the next run file to appear (at the start
            of its run: it appeared since the previous look, a few milliseconds ago)."""
            seen = set()
            while not done.is_set():
                parts = set(folder.glob(f".*{PART_MARK}*.h5"))
                fresh, seen = parts - seen, parts
                if fresh and any(e["event"] == "published" for e in read_journal(folder)):
                    part = sorted(fresh)[0]
                    attempt = part.name.split(PART_MARK, 1)[1].removesuffix(".h5")
                    pid = int(attempt.rsplit("-", 2)[1])
                    assert pid in worker_pids
                    os.kill(pid, signal.SIGKILL)
                    killed.update(pid=pid, attempt=attempt, time=time.time(), part=part)
                    return
                time.sleep(0.002)

        watcher = threading.Thread(target=kill_a_worker_mid_run, daemon=True)
        watcher.start()
        try:
            result = run_sweep(path, out_dir=folder, client=client, progress=False, log=quiet)
        finally:
            done.set()
            watcher.join()
    assert killed, "the sweep ended before a worker could be killed mid-run"
    assert result.counts["done"] == 12 and not result.failed
    events = read_journal(folder)
    by_kind = collections.Counter(e["event"] for e in events)
    published = collections.Counter(e["run"] for e in events if e["event"] == "published")
    runs = [run.stem for run in load_sweep(path, out_dir=folder).runs]
    assert published == collections.Counter(runs)          # each run published exactly once
    # one run was started twice (the killed attempt and its retry), every other run once; a task
    # whose result Dask lost with the worker may be re-run, but it finds its output complete
    # ('duplicate') and returns without running the model again
    assert by_kind["start"] == 13 and by_kind["failed"] == 0
    killed_run = next(e["run"] for e in events if e.get("attempt") == killed["attempt"])
    attempts = [e for e in events if e["run"] == killed_run]
    assert [e["event"] for e in attempts] == ["start", "start", "published"]   # retried, elsewhere
    assert attempts[1]["pid"] != killed["pid"]
    assert any(e["event"] == "published" and e["time"] > killed["time"] for e in events)  # went on after it
    assert not list(folder.glob(f".*{PART_MARK}*")) and not list(folder.glob("*.error.txt"))
    # the same runs one by one, without Dask: identical datasets
    reference = tmp_path / "reference"
    for run in load_sweep(path, out_dir=folder).runs:
        ref = run_to_file(BASE, overrides=run.all_overrides, out=reference / f"{run.stem}.h5", device="cpu",
                          progress=False, log=quiet)
        assert_same_datasets(run.output, ref)
        with h5py.File(run.output, "r") as f:
            assert f.attrs["completed"] and f.attrs["sweep_run"] == run.stem


def test_a_bad_value_in_any_grid_point_fails_the_sweep_before_it_starts(tmp_path, capsys):
    """A negative rate in one arm, or NaN in a grid value: `abm sweep --dry-run` (and `abm sweep`)
    stop with one line naming the sweep file, the run and the key, exit status 2, nothing run."""
    for overrides, grid, message in (
            ([{DIVISION: 0.035}, {DIVISION: -0.5}], None, f"{DIVISION}: Input should be greater than or equal to 0"),
            (None, {KILL: [0.05, float("nan")]}, f"{KILL}: Input should be a finite number")):
        path = write_sweep(tmp_path, overrides=overrides, grid=grid, seeds=(1, 2))
        for dry in (["--dry-run"], []):
            assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress", *dry]) == 2
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1 and str(path) in err[0] and "run 001-" in err[0] and message in err[0], err
        assert not (tmp_path / "out").exists()


def test_a_failing_run_fails_alone_and_its_error_is_in_the_summary(tmp_path, cluster, capsys):
    """One arm's NK cells cannot be placed (their shell lies outside the lattice): a failure of the
    run itself, not of its config. Its runs fail with that error, the others complete. Runs
    through the --scheduler path (a running cluster); exit status 1."""
    path = write_sweep(tmp_path, overrides=[{DIVISION: 0.035}, {DIVISION: 0.035, PLACE: 5000.0}], seeds=(1, 2))
    folder = tmp_path / "out"
    status = main(["sweep", str(path), "--out", str(folder), "--scheduler", cluster.scheduler_address,
                   "--no-progress"])
    assert status == 1
    err = capsys.readouterr().err
    assert "2 runs failed" in err
    table = pd.read_csv(folder / "summary.csv")
    assert list(table["status"]) == ["done", "done", "failed", "failed"]
    failed = table[table["status"] == "failed"]
    assert all("placement" in e for e in failed["error"])
    assert failed["output"].isna().all()
    assert all((folder / f"{run}.error.txt").exists() for run in failed["run"])
    assert (table.loc[table["status"] == "done", "final_tumor"] > 0).all()
    assert table.loc[table["status"] == "failed", "final_tumor"].isna().all()


# ------------------------------------------------------------------ resuming


def test_a_second_invocation_runs_only_what_is_not_complete(tmp_path, client):
    path = write_sweep(tmp_path, overrides=[{KILL: 0.05}, {KILL: 0.5}], seeds=(1, 2, 3))
    folder = tmp_path / "out"
    runs = load_sweep(path, out_dir=folder).runs
    folder.mkdir()
    # run 0 complete; run 1 cut short; run 2 complete but for another seed; run 3 a dead attempt's part file
    run_to_file(BASE, overrides=runs[0].all_overrides, out=runs[0].output, device="cpu", progress=False, log=quiet)
    run_to_file(BASE, overrides=runs[1].all_overrides, out=runs[1].output, device="cpu", progress=False, log=quiet)
    with h5py.File(runs[1].output, "a") as f:
        f.attrs["completed"] = False
    run_to_file(BASE, overrides={**runs[2].all_overrides, "seed": 99}, out=runs[2].output, device="cpu",
                progress=False, log=quiet)
    part = folder / f".{runs[3].stem}{PART_MARK}otherhost-123-abcdef12.h5"
    part.write_bytes(b"half a file")
    untouched = os.stat(runs[0].output)

    first = run_sweep(path, out_dir=folder, client=client, progress=False, log=quiet)
    assert first.skipped == [runs[0].stem]
    assert sorted(first.executed) == sorted(r.stem for r in runs[1:])
    assert list(first.table["status"]) == ["skipped"] + ["done"] * 5
    assert os.stat(runs[0].output).st_mtime_ns == untouched.st_mtime_ns
    assert os.stat(runs[0].output).st_ino == untouched.st_ino
    assert not part.exists()
    for run in runs:
        with h5py.File(run.output, "r") as f:
            assert f.attrs["completed"] and f.attrs["seed"] == run.seed

    second = run_sweep(path, out_dir=folder, client=client, progress=False, log=quiet)
    assert second.executed == [] and sorted(second.skipped) == sorted(r.stem for r in runs)
    starts = collections.Counter(e["run"] for e in read_journal(folder) if e["event"] == "start")
    assert starts == collections.Counter(r.stem for r in runs[1:])  # nothing ran twice


def test_a_killed_attempt_is_continued_from_its_checkpoint(tmp_path, client):
    """Leftovers of attempts killed in an earlier invocation: the most advanced one whose checkpoint
    has the run's config is continued from that checkpoint (abm.runner.resume_file); the result is
    identical to an uninterrupted run, and no leftover remains."""
    from abm.core import model as model_module

    common = {**LONGER, "output.checkpoint_every_steps": 5, "output.checkpoint_min_interval_s": 0}
    path = write_sweep(tmp_path, overrides=[{KILL: 0.5}], common=common, seeds=(1,))
    folder = tmp_path / "out"
    folder.mkdir()
    run = load_sweep(path, out_dir=folder).runs[0]
    original = model_module.TissueModel.step

    def attempt_killed_at(step, name, overrides):
        def step_until(self):
            if self.steps == step:
                raise RuntimeError("killed")
            original(self)

        model_module.TissueModel.step = step_until
        try:
            with pytest.raises(RuntimeError):
                run_to_file(BASE, overrides=overrides, out=folder / f".{run.stem}{PART_MARK}{name}.h5", device="cpu",
                            progress=False, log=quiet)
        finally:
            model_module.TissueModel.step = original

    attempt_killed_at(8, "nodeA-1-00000001", run.all_overrides)                   # checkpoint at step 5
    attempt_killed_at(18, "nodeB-2-00000002", run.all_overrides)                  # checkpoint at step 15
    attempt_killed_at(23, "nodeC-3-00000003", {**run.all_overrides, "seed": 9})   # another config: not used
    assert len(list(folder.glob(f".*{PART_MARK}*.checkpoint"))) == 3

    result = run_sweep(path, out_dir=folder, client=client, progress=False, log=quiet)
    assert result.counts["done"] == 1
    events = [e for e in read_journal(folder) if e["run"] == run.stem]
    assert [e["event"] for e in events] == ["start", "resumed", "published"]
    assert events[1]["from_step"] == 15
    reference = run_to_file(BASE, overrides=run.all_overrides, out=tmp_path / "ref.h5", device="cpu",
                            progress=False, log=quiet)
    assert_same_datasets(run.output, reference)
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == [".sweep.lock"]
    assert (folder / f"{run.stem}.xdmf").exists() and f"{run.stem}.h5:/snapshots" in (
        folder / f"{run.stem}.xdmf").read_text()


def _published(folder):
    """Run files published complete (Path.glob also matches the hidden .<run>.part-*.h5 files)."""
    return [p for p in folder.glob("*.h5") if not p.name.startswith(".")]


def test_an_interrupted_sweep_resumes_with_only_the_unfinished_runs(tmp_path):
    """`abm sweep` (its own LocalCluster) gets Ctrl-C after two runs: exit 130, a summary listing
    the runs not run; the same command again executes exactly the runs that were not complete."""
    # Runs long enough that the interrupt lands while later runs are still to do, on a fast machine too.
    path = write_sweep(tmp_path, grid=GRID, common=SLOWER, seeds=(1, 2))
    folder = tmp_path / "out"
    command = [sys.executable, "-m", "abm", "sweep", str(path), "--out", str(folder), "--workers", "2",
               "--no-progress"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(_published(folder)) < 2:  # not a run's hidden part file
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "run the same command again" in err
    complete = {p.stem for p in _published(folder)}
    assert 2 <= len(complete) < 8
    table = pd.read_csv(folder / "summary.csv")
    assert set(table.loc[table["status"] == "done", "run"]) <= complete
    assert (table["status"] == "cancelled").sum() >= 8 - len(complete)
    first_events = len(read_journal(folder))

    second = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert f"{len(complete)} complete already, {8 - len(complete)} to run" in second.stderr
    new_events = read_journal(folder)[first_events:]
    started = [e["run"] for e in new_events if e["event"] == "start"]
    all_runs = {run.stem for run in load_sweep(path, out_dir=folder).runs}
    assert sorted(started) == sorted(all_runs - complete)   # exactly the rest, each once
    table = pd.read_csv(folder / "summary.csv")
    assert set(table.loc[table["status"] == "skipped", "run"]) == complete
    assert set(table.loc[table["status"] == "done", "run"]) == all_runs - complete
    assert not list(folder.glob(f".*{PART_MARK}*"))


# ------------------------------------------------------------------ summary and report


def test_summary_table_and_report(tmp_path, client, capsys):
    path = write_sweep(tmp_path, grid=GRID, seeds=(1, 2))
    folder = tmp_path / "out"
    result = run_sweep(path, out_dir=folder, client=client, progress=False, log=quiet)
    csv = pd.read_csv(folder / "summary.csv")
    parquet = pd.read_parquet(folder / "summary.parquet")
    assert len(csv) == len(parquet) == 8 and list(parquet.columns) == list(result.table.columns)
    for column in ("run", "arm", "seed", "status", "error", "wall_s", "device", "output", "overrides",
                   f"param:{KILL}", f"param:{DIVISION}", "final_tumor", "final_nk", "total_births",
                   "total_deaths", "total_kills"):
        assert column in parquet.columns, column
    assert (parquet["status"] == "done").all() and (parquet["wall_s"] > 0).all()
    assert len(set(parquet["device"])) == 1 and parquet["device"].iloc[0].startswith("cpu (NumPy")
    assert sorted(set(parquet[f"param:{KILL}"])) == [0.05, 0.5]
    assert parquet["param:lattice.shape"].iloc[0] == "[24, 24]"   # lists as JSON text
    row = parquet.iloc[0]
    with h5py.File(row["output"], "r") as f:
        assert row["final_tumor"] == f["timeseries/tumor"][-1]
        assert row["total_births"] == f["timeseries/births"][:].sum()
    assert main(["sweep-report", str(folder), "--out", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "r.png").stat().st_size > 10_000
    assert "8 done" in capsys.readouterr().out
    assert main(["sweep-report", str(folder), "--metric", "final_nope"]) == 2
    assert "--metric final_nope: not in the summary" in capsys.readouterr().err
    assert main(["sweep-report", str(tmp_path / "none")]) == 2


def test_local_gpu_engine_pins_one_gpu_per_worker(tmp_path):
    """engine {kind: local, gpus: 2}: two workers, CUDA_VISIBLE_DEVICES 0 and 1, resources {GPU: 1},
    runs submitted with resources={'GPU': 1} (device cpu here: no GPU needed)."""
    from abm.sweep.engine import gpu_cluster, gpu_devices
    from abm.sweep.spec import LocalEngine

    assert gpu_devices(2, environ={}) == ["0", "1"]
    assert gpu_devices(1, environ={"CUDA_VISIBLE_DEVICES": "3,5"}) == ["3"]
    cluster = gpu_cluster(LocalEngine(kind="local", gpus=2), gpu_devices(2, environ={}))
    with cluster, distributed.Client(cluster) as client:
        visible = client.run(lambda: os.environ.get("CUDA_VISIBLE_DEVICES"))
        assert sorted(visible.values()) == ["0", "1"]
        resources = [w["resources"] for w in client.scheduler_info()["workers"].values()]
        assert resources == [{"GPU": 1}, {"GPU": 1}]
        path = write_sweep(tmp_path, overrides=[{}], seeds=(1, 2), engine={"kind": "local", "gpus": 2})
        result = run_sweep(path, out_dir=tmp_path / "out", client=client, progress=False, log=quiet)
    assert result.counts["done"] == 2
    assert len({e["pid"] for e in read_journal(tmp_path / "out") if e["event"] == "start"}) >= 1


def test_local_workers_share_the_cores_between_their_compiled_threads(monkeypatch):
    """Each local worker runs numba with the cores divided among the concurrent runs (2 workers on 2
    cores: 1 thread each, not 2 each waiting for the other), and its idle threads sleep; a
    NUMBA_NUM_THREADS the user set is kept."""
    from abm.sweep.engine import _local_cluster, compiled_threads_env
    from abm.sweep.spec import LocalEngine

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert compiled_threads_env(2, environ={}) == {"NUMBA_NUM_THREADS": "2"}
    assert compiled_threads_env(8, environ={}) == {"NUMBA_NUM_THREADS": "1"}
    assert compiled_threads_env(2, environ={"NUMBA_NUM_THREADS": "3"}) == {}
    monkeypatch.undo()
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0))

    def threads():
        import numba

        import abm.engine.targets  # noqa: F401 - as a run imports it

        return numba.get_num_threads(), os.environ.get("OMP_WAIT_POLICY")

    with _local_cluster(LocalEngine(kind="local", workers=2), n_runs=4) as cluster, distributed.Client(cluster) as client:
        assert sorted(client.run(threads).values()) == [(max(1, cores // 2), "PASSIVE")] * 2


# ------------------------------------------------------------------ SLURM and PBS job scripts


def test_slurm_job_script_has_the_gpu_memory_walltime_partition_and_account(tmp_path, capsys):
    engine = {"kind": "slurm", "partition": "gpu", "account": "proj42", "walltime": "02:30:00", "memory": "16GB",
              "cores": 4, "gpus_per_worker": 1, "jobs": 3, "local_directory": "/scratch/$USER",
              "job_extra_directives": ["--constraint=a100"]}
    path = write_sweep(tmp_path, grid=GRID, engine=engine)
    assert main(["sweep", str(path), "--job-script"]) == 0
    script = capsys.readouterr().out
    for line in ("#SBATCH -p gpu", "#SBATCH -A proj42", "#SBATCH -t 02:30:00", "#SBATCH --mem=15G",
                 "#SBATCH --cpus-per-task=4", "#SBATCH --gres=gpu:1", "#SBATCH --constraint=a100",
                 'export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}"'):
        assert line in script, (line, script)
    assert "--resources GPU=1" in script and "--local-directory /scratch/$USER" in script
    assert f"{sys.executable} -m distributed.cli.dask_worker" in script


def test_pbs_job_script_asks_for_ngpus(tmp_path):
    from abm.sweep.engine import job_script, uses_gpus

    engine = {"kind": "pbs", "queue": "gpuq", "account": "proj42", "walltime": "01:00:00", "memory": "32GB",
              "cores": 8, "gpus_per_worker": 1, "maximum_jobs": 4}
    spec = load_sweep(write_sweep(tmp_path, grid=GRID, engine=engine)).spec
    script = job_script(spec.engine)
    assert "#PBS -q gpuq" in script and "#PBS -A proj42" in script and "#PBS -l walltime=01:00:00" in script
    assert "#PBS -l select=1:ncpus=8:ngpus=1:mem=30GB" in script
    assert "--resources GPU=1" in script and uses_gpus(spec.engine) == 1
    cpu_only = spec.engine.model_copy(update={"gpus_per_worker": 0})
    assert "ngpus" not in job_script(cpu_only) and "GPU=1" not in job_script(cpu_only)
