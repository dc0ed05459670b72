"""Malformed configs and command lines: one line `abm: error: ...`, exit status 2, no traceback,
and no output file that looks complete.

Each case is a small change to configs/default.yaml (shrunk so the valid parts are fast), raw
file contents, or a bad command line. Most cases call ``abm.cli.main`` in-process (fast); the
ones marked ``SUBPROCESS`` run ``python -m abm`` for real, as a user would.
"""
from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import h5py
import pytest
import yaml

from run_helpers import standalone_raw  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "configs" / "default.yaml"
SUBPROCESS = True


def small_config() -> dict:
    """configs/default.yaml on a 40x40 lattice for 1 h (10 steps) with 50 cells."""
    raw = standalone_raw(DEFAULT_CONFIG)  # the cells and fields of the parameter set written in
    raw["lattice"]["shape"] = [40, 40]
    raw["time"]["duration_h"] = 1.0
    raw["placement"][0]["count"] = 40
    raw["placement"][1].update(count=10, inner_radius_um=100, outer_radius_um=300)
    raw["output"]["snapshot_every_steps"] = 5
    return raw


def _walk(raw, dotted: str):
    *parents, last = dotted.split(".")
    node = raw
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, (int(last) if isinstance(node, list) else last)


def setting(dotted: str, value) -> Callable[[dict], None]:
    def change(raw):
        node, last = _walk(raw, dotted)
        node[last] = value
    return change


def removing(dotted: str) -> Callable[[dict], None]:
    def change(raw):
        node, last = _walk(raw, dotted)
        del node[last]
    return change


@dataclass
class Case:
    """A malformed input. `key`: text the error line must contain (a key path, an option or a
    path); `names_file`: the line must name the config file."""

    change: Callable[[dict], None] | None = None  # applied to small_config(), dumped as YAML
    raw: bytes | str | None = None  # written as the config file instead
    config: str | None = None  # "missing" (no such file) or "directory"
    args: list[str] = field(default_factory=list)  # extra command-line arguments
    out: str | None = None  # --out, relative to tmp_path unless absolute; default out.h5
    prepare: Callable[[Path], None] | None = None  # sets up tmp_path before the run
    key: str | None = None
    names_file: bool = True
    subprocess: bool = False
    existing_output: bytes | None = None  # written to out.h5 first; must be left byte-identical


def _make_file(tmp: Path) -> None:
    (tmp / "afile").write_text("not a folder\n")


def _make_dir(tmp: Path) -> None:
    (tmp / "adir").mkdir()


CASES = {
    # ------------------------------------------------------------ the file itself
    "yaml_syntax_error": Case(raw="name: x\nlattice: {shape: [40, 40\n", subprocess=SUBPROCESS),
    "yaml_tab_indentation": Case(raw="name: x\n\tlattice: 3\n"),
    "empty_file": Case(raw=""),
    "duplicate_key": Case(raw="name: x\nseed: 1\nseed: 2\n", key="seed"),
    "boolean_seed": Case(change=setting("seed", True), key="seed"),
    "comments_only": Case(raw="# nothing here\n"),
    "list_at_top_level": Case(raw="- name: x\n- lattice: {}\n"),
    "binary_garbage": Case(raw=b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00garbage", subprocess=SUBPROCESS),
    "config_is_a_directory": Case(config="directory"),
    "missing_config_file": Case(config="missing", subprocess=SUBPROCESS),
    # ------------------------------------------------------------ keys
    "unknown_top_level_key": Case(setting("colour", "red"), key="colour", subprocess=SUBPROCESS),
    "unknown_nested_key": Case(setting("cells.nk.speed_um_per_min", 3.0), key="cells.nk.speed_um_per_min"),
    "misspelt_key": Case(setting("cells.nk.kill_probabilty_per_contact", 0.1),
                         key="cells.nk.kill_probabilty_per_contact"),
    "missing_required_key": Case(removing("cells.nk.kill_probability_per_contact"),
                                 key="cells.nk.kill_probability_per_contact"),
    "missing_section": Case(removing("cells"), key="cells"),
    "section_is_a_number": Case(setting("fields", 3), key="fields"),
    # ------------------------------------------------------------ types
    "string_for_a_number": Case(setting("cells.tumor.division_rate_per_h", "fast"),
                                key="cells.tumor.division_rate_per_h", subprocess=SUBPROCESS),
    "float_in_lattice_shape": Case(setting("lattice.shape", [40.5, 40]), key="lattice.shape"),
    "string_for_lattice_shape": Case(setting("lattice.shape", "40x40"), key="lattice.shape"),
    "placement_not_a_list": Case(setting("placement", {"pattern": "ball"}), key="placement"),
    "bad_run_name": Case(setting("name", "my run/1"), key="name"),
    # ------------------------------------------------------------ ranges
    "negative_rate": Case(setting("cells.tumor.death_rate_per_h", -0.1), key="cells.tumor.death_rate_per_h"),
    "probability_above_one": Case(setting("cells.nk.kill_probability_per_contact", 1.5),
                                  key="cells.nk.kill_probability_per_contact", subprocess=SUBPROCESS),
    "nan_decay": Case(setting("fields.ifng.decay_per_min", math.nan), key="fields.ifng.decay_per_min"),
    "inf_rate": Case(setting("cells.nk.move_rate_per_h", math.inf), key="cells.nk.move_rate_per_h"),
    "zero_dt": Case(setting("time.dt_min", 0), key="time.dt_min"),
    "negative_cell_count": Case(setting("placement.0.count", -3), key="placement.0.count"),
    "compression_level_10": Case(setting("output.compression_level", 10), key="output.compression_level"),
    "too_many_steps": Case(setting("time.duration_h", 1e300), key="time.dt_min"),
    "lattice_spacing_overflows": Case(setting("lattice.dx_um", 1e200), key="lattice.dx_um"),
    "diffusion_overflows": Case(setting("fields.ifng.diffusion_um2_per_min", 1e308),
                                key="fields.ifng.diffusion_um2_per_min"),
    "initial_value_beyond_float32": Case(setting("fields.ifng.initial_value", 1e300),
                                         key="fields.ifng.initial_value"),
    # ------------------------------------------------------------ lattice
    "lattice_1d": Case(setting("lattice.shape", [40]), key="lattice.shape"),
    "lattice_4d": Case(setting("lattice.shape", [4, 4, 4, 4]), key="lattice.shape"),
    "lattice_zero_sites": Case(setting("lattice.shape", [0, 40]), key="lattice.shape"),
    "lattice_too_large_for_memory": Case(setting("lattice.shape", [100000, 100000, 1000]), key="lattice.shape",
                                         subprocess=SUBPROCESS),
    "lattice_of_2_32_sites_on_the_cpu": Case(setting("lattice.shape", [65536, 65536]), key="2^32 sites",
                                             subprocess=SUBPROCESS),
    "bad_neighbourhood": Case(setting("lattice.neighbourhood", "hexagonal"), key="lattice.neighbourhood"),
    # ------------------------------------------------------------ placement
    "more_cells_than_sites": Case(setting("placement.0.count", 2000), key="placement"),
    "centre_outside_lattice": Case(setting("placement.0.center_um", [5000.0, 100.0]), key="placement.0.center_um"),
    "centre_with_wrong_dimension": Case(setting("placement.0.center_um", [100.0]), key="placement.0.center_um"),
    "unknown_cell_type": Case(setting("placement.0.cell_type", "macrophage"), key="placement.0.cell_type"),
    "unknown_placement_pattern": Case(setting("placement.0.pattern", "ring"), key="placement.0.pattern"),
    "placement_without_pattern": Case(removing("placement.0.pattern"), key="placement.0.pattern"),
    "scatter_shell_too_small": Case(setting("placement.1.outer_radius_um", 110.0), key="placement"),
    # ------------------------------------------------------------ other values
    "bad_device_in_config": Case(setting("device", "tpu"), key="device"),
    "bad_field_boundary": Case(setting("fields.ifng.boundary", "periodic"), key="fields.ifng.boundary"),
    # ------------------------------------------------------------ --set
    "set_without_equals": Case(args=["--set", "cells.nk.move_rate_per_h"], key="cells.nk.move_rate_per_h",
                               names_file=False),
    "set_empty_key": Case(args=["--set", "=3"], key="--set", names_file=False),
    "set_unknown_key": Case(args=["--set", "cells.nk.speedx=3"], key="cells.nk.speedx"),
    "set_negative_rate": Case(args=["--set", "cells.nk.move_rate_per_h=-1"], key="cells.nk.move_rate_per_h",
                              subprocess=SUBPROCESS),
    "set_invalid_yaml_value": Case(args=["--set", "cells.nk.move_rate_per_h=[1"], key="cells.nk.move_rate_per_h",
                                   names_file=False),
    "set_list_index_out_of_range": Case(args=["--set", "placement.7.count=3"], key="placement.7"),
    "set_below_a_value": Case(args=["--set", "name.first=x"], key="name"),
    # ------------------------------------------------------------ command line and output
    "bad_device_option": Case(args=["--device", "tpu"], key="--device", names_file=False),
    "unknown_option": Case(args=["--bogus"], key="--bogus", names_file=False),
    "empty_output_path": Case(out="", key="--out", names_file=False),
    "output_under_proc": Case(out="/proc/abm-test-output.h5", key="/proc/abm-test-output.h5", names_file=False),
    "output_under_a_file": Case(out="afile/out.h5", prepare=_make_file, key="afile/out.h5", names_file=False,
                                subprocess=SUBPROCESS),
    "output_is_a_directory": Case(out="adir", prepare=_make_dir, key="adir", names_file=False),
    "output_exists_without_overwrite": Case(existing_output=b"an earlier run, not to be touched\n",
                                            key="out.h5", names_file=False, subprocess=SUBPROCESS),
}


def _write_config(case: Case, tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    if case.config == "missing":
        return tmp_path / "no-such-config.yaml"
    if case.config == "directory":
        path = tmp_path / "configdir.yaml"
        path.mkdir()
        return path
    if case.raw is not None:
        path.write_bytes(case.raw if isinstance(case.raw, bytes) else case.raw.encode())
        return path
    raw = small_config()
    if case.change is not None:
        raw = copy.deepcopy(raw)
        case.change(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _run_abm(argv: list[str], tmp_path: Path, in_subprocess: bool, capsys, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.delenv("ABM_DEBUG", raising=False)
    if in_subprocess:
        env = {k: v for k, v in os.environ.items() if k != "ABM_DEBUG"}
        done = subprocess.run([sys.executable, "-m", "abm", *argv], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        return done.returncode, done.stdout, done.stderr
    from abm.cli import main

    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    try:
        status = main(argv)
    except SystemExit as stop:  # argparse exits by itself
        status = stop.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _check_h5_not_complete(path: Path) -> None:
    with h5py.File(path, "r") as run:
        assert "completed" in run.attrs, f"{path} has no 'completed' attribute"
        assert not bool(run.attrs["completed"]), f"{path} looks complete after an error"


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_input_gives_one_line_and_status_2(name, tmp_path, capsys, monkeypatch):
    case = CASES[name]
    if name == "output_under_proc" and not Path("/proc").is_dir():
        pytest.skip("no /proc")
    config = _write_config(case, tmp_path)
    if case.prepare:
        case.prepare(tmp_path)
    out = tmp_path / "out.h5" if case.out is None else (Path(case.out) if case.out else None)
    if case.existing_output is not None:
        (tmp_path / "out.h5").write_bytes(case.existing_output)
    out_arg = "" if out is None else str(out)
    argv = ["run", str(config), "--out", out_arg, "--no-progress", "--device", "cpu", *case.args]

    status, stdout, stderr = _run_abm(argv, tmp_path, case.subprocess, capsys, monkeypatch)

    assert "Traceback" not in stdout + stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    line = lines[0]
    assert line.startswith("abm: error:"), line
    assert status == 2, (status, line)
    if case.names_file:
        assert str(config) in line or config.name in line, f"config file not named: {line}"
    if case.key:
        assert case.key in line, f"{case.key!r} not named: {line}"

    if case.existing_output is not None:
        assert (tmp_path / "out.h5").read_bytes() == case.existing_output
    for h5 in tmp_path.rglob("*.h5"):
        if h5.is_file() and not (case.existing_output is not None and h5 == tmp_path / "out.h5"):
            _check_h5_not_complete(h5)
    if case.out == "adir":
        assert list((tmp_path / "adir").iterdir()) == []


def test_enough_distinct_cases():
    assert len(CASES) >= 24
    assert sum(case.subprocess for case in CASES.values()) >= 5


# ---------------------------------------------------------------- valid input still works


def test_valid_set_override_changes_the_run(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(small_config(), sort_keys=False))
    out = tmp_path / "out.h5"
    done = subprocess.run([sys.executable, "-m", "abm", "run", str(config), "--out", str(out), "--no-progress",
                           "--device", "cpu", "--set", "time.duration_h=0.5"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    with h5py.File(out, "r") as run:
        assert int(run.attrs["steps_planned"]) == 5  # 0.5 h at dt_min 6 (not the file's 1 h: 10 steps)
        assert int(run.attrs["steps_done"]) == 5
        assert bool(run.attrs["completed"])
        assert yaml.safe_load(run.attrs["config_yaml"])["time"]["duration_h"] == 0.5


def test_schema_prints_json(tmp_path):
    done = subprocess.run([sys.executable, "-m", "abm", "schema"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert {"lattice", "cells", "fields", "placement", "time"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
