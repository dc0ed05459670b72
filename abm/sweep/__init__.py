"""Parameter sweeps on Dask: `abm sweep SWEEP.yaml` runs every (arm, seed) of a sweep file as one
task, locally (LocalCluster) or on SLURM/PBS (dask-jobqueue); resumable and fault tolerant.

Modules: spec (sweep files -> runs), engine (clusters), worker (one run, atomic publishing),
driver (run_sweep), summary (the table), report (plots), cli (the subcommands).
"""
from .driver import SweepResult, run_sweep
from .spec import load_sweep

__all__ = ["SweepResult", "load_sweep", "run_sweep"]
