"""Helpers for the output tests: small runs from the command line, and comparing two run files."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import h5py

from abm.testing import assert_same_state, model_state  # noqa: F401 (the tests import them from here)

ROOT = Path(__file__).resolve().parent.parent
CONFIG = str(ROOT / "configs" / "default.yaml")


def overrides(shape=(40, 40), hours=12.0, tumor=100, nk=30, snapshot=10, checkpoint=7, **more) -> dict:
    """A small run: only the config keys whose meaning is stable (see the issue's constraints)."""
    values = {"lattice.shape": list(shape), "time.duration_h": hours, "placement.0.count": tumor,
              "placement.1.count": nk, "output.snapshot_every_steps": snapshot,
              "output.checkpoint_every_steps": checkpoint,
              "output.checkpoint_min_interval_s": 0,  # every `checkpoint` steps, however fast the run
              # a tonic IFN-gamma release (none in the collagen gel: NK cells release it on contact), so
              # that even an hour-long run has a field to write, read and draw
              "cells.nk.ifng_secretion_per_min": 0.05}
    values.update(more)
    return values


def set_args(values: dict) -> list[str]:
    args = []
    for key, value in values.items():
        text = "[" + ",".join(str(v) for v in value) + "]" if isinstance(value, list) else str(value)
        args += ["--set", f"{key}={text}"]
    return args


def abm_command(*args) -> list[str]:
    return [sys.executable, "-m", "abm", *args]


def env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "ABM_DEBUG"}


def start_run(out: Path, values: dict, **popen) -> subprocess.Popen:
    """`abm run` of the default config with these overrides, in the background."""
    return subprocess.Popen(abm_command("run", CONFIG, "--out", str(out), "--no-progress", "--device", "cpu",
                                        *set_args(values)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env(),
                            **popen)


def resume(out: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(abm_command("run", "--resume", str(out), "--no-progress", "--device", "cpu"),
                          capture_output=True, text=True, cwd=ROOT, env=env(), timeout=timeout)


def wait_for(path: Path, process: subprocess.Popen | None = None, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"run ended before writing {path}: {process.stderr.read()}")
        if time.time() > deadline:
            raise AssertionError(f"{path} did not appear in {timeout} s")
        time.sleep(0.02)


def datasets(path) -> dict:
    """{name: (dtype, shape, raw bytes)} of every dataset in an HDF5 file."""
    out = {}
    with h5py.File(path, "r") as file:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = (obj.dtype, obj.shape, obj[()].tobytes())
        file.visititems(visit)
    return out


def assert_same_datasets(path, reference) -> None:
    """Every dataset identical, bit for bit (attributes such as start_time may differ)."""
    mine, theirs = datasets(path), datasets(reference)
    assert set(mine) == set(theirs), f"datasets differ: {sorted(set(mine) ^ set(theirs))[:10]}"
    different = [name for name in mine if mine[name] != theirs[name]]
    assert not different, f"{len(different)} datasets differ, e.g. {different[:5]}"
    assert len(mine) > 20


def scenario_raw(path) -> dict:
    """A scenario file as a dict that still works when written elsewhere: its include made absolute."""
    import yaml

    path = Path(path)
    raw = yaml.safe_load(path.read_text())
    if "include" in raw:
        raw["include"] = str((path.parent / raw["include"]).resolve())
    return raw


def standalone_raw(path) -> dict:
    """A scenario as the plain config it stands for (the parameter set's values written in)."""
    from abm.config.files import load_raw
    from abm.config.parameters import expand_include

    raw = expand_include(load_raw(path)[0], str(path))
    raw.pop("parameter_set", None)
    return raw
