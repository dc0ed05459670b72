"""Parameter sweeps on Dask: `abm sweep SWEEP.yaml` runs every (arm, seed) of a sweep file as one
task, locally (LocalCluster) or on SLURM/PBS (dask-jobqueue); resumable and fault tolerant.

Modules: spec (sweep files -> runs), engine (clusters), worker (one run, atomic publishing),
driver (run_sweep), summary (the table), report (plots), cli (the subcommands).
"""
_LAZY = {"SweepResult": ".driver", "run_sweep": ".driver", "load_sweep": ".spec"}  # name -> module

__all__ = ["SweepResult", "load_sweep", "run_sweep"]


def __getattr__(name):
    """The public names on first use (PEP 562): `abm --help` imports abm.sweep.cli, and with it
    this package, which must not pull in Dask and pandas."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
