"""abm sweep through a real SLURM (engine kind slurm, dask-jobqueue): needs a running SLURM that
accepts jobs on this machine, e.g. the single-node one of `bash scripts/ci_slurm.sh test`."""
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from abm.sweep.worker import read_journal

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _slurm_ready() -> str | None:
    if not shutil.which("sbatch") or not shutil.which("sinfo"):
        return "no SLURM client (sbatch/sinfo); run `bash scripts/ci_slurm.sh test`"
    try:
        states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError) as error:
        return f"sinfo failed: {error}"
    if not any(s.strip().rstrip("*") in ("idle", "mixed") for s in states.split()):
        return f"no idle SLURM node (sinfo: {states.strip() or 'nothing'})"
    return None


def test_a_sweep_runs_on_slurm_jobs_with_a_gpu_each(tmp_path):
    reason = _slurm_ready()
    if reason:
        pytest.skip(reason)
    logs = tmp_path / "slurm-logs"
    spec = {
        "name": "slurm_ci", "base": str(ROOT / "configs" / "default.yaml"), "device": "cpu", "seeds": [1, 2],
        "grid": {"cells.nk.kill_probability_per_contact": [0.05, 0.5]},
        "overrides": [{"lattice.shape": [24, 24], "time.duration_h": 1, "placement.0.count": 30,
                       "placement.1.count": 10}],
        # gpus_per_worker: the CI node advertises one (fake) GPU; the runs use the CPU
        "engine": {"kind": "slurm", "walltime": "00:10:00", "memory": "2GB", "cores": 1, "gpus_per_worker": 1,
                   "jobs": 1, "log_directory": str(logs), "local_directory": str(tmp_path / "scratch")},
    }
    path = tmp_path / "slurm.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "abm", "sweep", str(path), "--out", str(out), "--no-progress"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "slurm cluster, 1 jobs requested" in result.stderr
    table = pd.read_csv(out / "summary.csv")
    assert list(table["status"]) == ["done"] * 4
    worker_logs = list(logs.glob("abm-sweep-*.err"))
    assert worker_logs and "Start worker" in worker_logs[0].read_text()  # dask worker log of the SLURM job
    events = read_journal(out)
    assert {e["event"] for e in events} == {"start", "published"}
    assert all(e.get("job") and e.get("gpus") == "0" for e in events)  # in a SLURM job with its GPU
