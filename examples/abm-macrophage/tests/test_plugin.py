"""The macrophage plugin, installed as a package, through tissue-abm's own commands: run, rules,
plot, movie, the XDMF sidecar, checkpoint/resume and sweep. Nothing under abm/ knows it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

HERE = Path(__file__).resolve().parent.parent
CONFIG = HERE / "configs" / "macrophage_organoid.yaml"
SMALL = ["--set", "lattice.shape=[50,50]", "--set", "time.duration_h=4", "--set", "placement.0.count=120",
         "--set", "placement.1.count=20", "--set", "placement.2.count=40", "--set", "output.snapshot_every_steps=10",
         # a tonic NK IFN-gamma release (NK cells otherwise release it only in contact), to polarise in 4 h
         "--set", "cells.nk.ifng_secretion_per_min=0.05"]


def abm(*args, timeout=300, check=True):
    """The `abm` command of the environment this plugin is installed in."""
    command = [sys.executable, "-m", "abm", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} -> {done.returncode}\n{done.stderr}")
    return done


def datasets(path) -> dict:
    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: found.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "mac.h5"
    abm("run", CONFIG, "--out", out, "--no-progress", *SMALL)
    return out


def test_the_plugin_is_found_by_its_entry_point():
    from abm.config.plugins import available, build_spec

    assert available()["macrophage"] == "abm_macrophage"
    spec = build_spec(("macrophage",))
    assert spec.type_names[-1] == "macrophage" and spec.type_names[:5] == build_spec(()).type_names
    assert "tumor.tnf_apoptosis" in spec.rules and "macrophage.contact_kill" in spec.rules


def test_a_run_writes_the_plugins_cells_fields_and_provenance(run):
    with h5py.File(run, "r") as f:
        assert json.loads(f.attrs["cell_types"])[-1] == "macrophage"
        assert json.loads(f.attrs["cell_states"])["macrophage"] == ["m2", "m1"]
        assert json.loads(f.attrs["plugins"]) == {"macrophage": "0.1.0"}
        config = yaml.safe_load(f.attrs["config_yaml"])
        assert config["parameter_set"].startswith("tissue_model.yaml sha256:")
        assert config["plugin_parameter_sets"]["macrophage"].startswith("parameters.yaml sha256:")
        assert {"ifng", "tnf"} <= set(f["snapshots/00000040/fields"])
        assert f["timeseries/macrophage.m1"][-1] > 0  # IFN-gamma polarised some of them
        assert f["snapshots/00000040/fields/tnf"][()].max() > 0  # M1 cells secrete TNF-alpha


def test_the_plugins_values_come_from_its_own_labelled_parameter_set():
    """The scenario sets no cell or field parameter: the built-in types' from the shared set, the
    macrophages' and TNF-alpha's from the file the package ships (PARAMETER_SET)."""
    from importlib.resources import files

    from abm.config.sections import load_config
    from abm.config.parameters import load_parameter_set
    from abm.config.plugins import build_spec

    raw = yaml.safe_load(CONFIG.read_text())
    assert "cells" not in raw and raw["fields"] == ["ifng", "tnf"] and raw["plugins"] == ["macrophage"]
    shipped = load_parameter_set(files("abm_macrophage") / "parameters.yaml", build_spec(("macrophage",)),
                                 ("macrophage",))
    assert {p.label for p in shipped.parameters.values()} == {"assumed"}
    config, _ = load_config(CONFIG)
    for key, parameter in shipped.parameters.items():
        section, group, name = key.split(".")
        assert getattr(getattr(config, section)[group] if section == "fields" else getattr(config.cells, group),
                       name) == parameter.value, key


def test_schema_of_the_scenario_has_the_plugins_sections():
    schema = json.loads(abm("schema", CONFIG).stdout)
    assert "macrophage" in schema["$defs"]["CellsConfig"]["properties"]
    assert "macrophage_depletion" in schema["$defs"]["InterventionsConfig"]["properties"]


def test_abm_rules_lists_the_plugins_rules():
    out = abm("rules", CONFIG).stdout
    for name in ("macrophage.ifng_polarisation", "macrophage.contact_kill", "macrophage.tnf_secretion",
                 "tumor.tnf_apoptosis", "nk.contact_kill"):
        assert name in out
    assert "cells.macrophage.kill_probability_per_contact = 0.02" in out


def test_plot_movie_and_the_xdmf_sidecar(run, tmp_path):
    meshio = pytest.importorskip("meshio")
    abm("plot", run, "--out", tmp_path / "mac.png")
    abm("movie", run, "--field", "tnf", "--out", tmp_path / "mac.gif")
    assert (tmp_path / "mac.png").stat().st_size > 10_000 and (tmp_path / "mac.gif").stat().st_size > 10_000
    with meshio.xdmf.TimeSeriesReader(run.with_suffix(".xdmf")) as reader:
        reader.cells = []
        _, point_data, cell_data = reader.read_data(reader.num_steps - 1)
        names = set(point_data) | set(cell_data)
        assert {"tnf", "ifng", "cell_type"} <= names


def test_depletion_and_ablation_act_and_are_recorded(tmp_path):
    depleted, no_kill = tmp_path / "depleted.h5", tmp_path / "no_kill.h5"
    abm("run", CONFIG, "--arm", "depleted", "--out", depleted, "--no-progress", *SMALL)
    abm("run", CONFIG, "--out", no_kill, "--no-progress", "--ablate", "macrophage.contact_kill", *SMALL)
    with h5py.File(depleted, "r") as f:
        assert f["timeseries/macrophage"][0] == 40 and f["timeseries/macrophage"][-1] == 0
    with h5py.File(no_kill, "r") as f:
        assert json.loads(f.attrs["ablated"]) == ["macrophage.contact_kill"]
    unknown = abm("run", CONFIG, "--ablate", "macrophage.contact_kil", "--out", tmp_path / "x.h5", check=False)
    assert unknown.returncode == 2 and "unknown rule 'macrophage.contact_kil'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_contact_killing_kills(tmp_path):
    """With killing on, macrophages kill; ablated, the same run has no macrophage kills (NK cells
    removed so that every kill is a macrophage's; IFN-gamma therapy polarises the macrophages)."""
    kills = {}
    for label, extra in (("on", []), ("off", ["--ablate", "macrophage.contact_kill"])):
        out = tmp_path / f"{label}.h5"
        abm("run", CONFIG, "--out", out, "--no-progress", *SMALL, "--set", "placement.1.count=0",
            "--set", "cells.macrophage.kill_probability_per_contact=0.5",
            "--set", "interventions.ifng_therapy={production_per_min: 0.01}",
            "--set", "placement.2.inner_radius_um=130", "--set", "placement.2.outer_radius_um=200", *extra)
        with h5py.File(out, "r") as f:
            kills[label] = int(f["timeseries/kills"][()].sum())
    assert kills["on"] > 0 and kills["off"] == 0


def test_an_interrupted_run_resumes_exactly(run, tmp_path):
    """Ctrl-C mid-run (checkpoint, status interrupted), then `abm run --resume`: the same datasets
    as the straight run."""
    out = tmp_path / "stopped.h5"
    longer = [*SMALL, "--set", "time.duration_h=40", "--set", "output.checkpoint_every_steps=5",
              "--set", "output.checkpoint_min_interval_s=0"]
    straight = tmp_path / "straight.h5"
    abm("run", CONFIG, "--out", straight, "--no-progress", *longer)
    process = subprocess.Popen([sys.executable, "-m", "abm", "run", str(CONFIG), "--out", str(out), "--no-progress",
                                *longer], stderr=subprocess.PIPE, text=True)
    checkpoint = Path(f"{out}.checkpoint")
    deadline = time.monotonic() + 120
    while not (checkpoint.exists() and out.exists()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) in (0, 130)  # 0: it finished before the signal landed
    abm("run", "--resume", out, "--no-progress", check=False)
    expected, got = datasets(straight), datasets(out)
    assert sorted(expected) == sorted(got)
    for name in expected:
        assert np.array_equal(expected[name], got[name]), name


def test_a_sweep_over_the_plugins_parameter(tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        f"name: mac_sweep\nbase: {CONFIG}\n"
        "grid:\n  cells.macrophage.kill_probability_per_contact: [0.0, 0.3]\n"
        "overrides:\n  - {lattice.shape: [40, 40], time.duration_h: 2, placement.0.count: 80, placement.1.count: 10,"
        " placement.2.count: 20}\n"
        "seeds: [1]\ndevice: cpu\nengine: {kind: local}\n")
    abm("sweep", sweep, "--workers", "1", "--out", tmp_path / "out", timeout=600)
    import pandas

    summary = pandas.read_csv(tmp_path / "out" / "summary.csv")
    assert list(summary["status"]) == ["done", "done"]
    assert summary["final_macrophage"].tolist() == [20, 20]


@pytest.mark.skipif(os.environ.get("ABM_PLUGIN_GPU") is None and not __import__("importlib").util.find_spec("cupy"),
                    reason="no CuPy: test_gpu_code_path.py runs this plugin on the GPU code path on the host")
def test_on_a_gpu_it_equals_the_cpu(tmp_path):
    from abm import TissueModel

    values = {"lattice.shape": [40, 40], "time.duration_h": 3.0, "placement.0.count": 80, "placement.1.count": 10,
              "placement.2.count": 20}
    runs = [TissueModel(str(CONFIG), device=device, overrides=values) for device in ("cpu", "gpu")]
    for model in runs:
        model.run()
    first, second = (model.agents_table() for model in runs)
    for name in first:
        assert np.array_equal(first[name], second[name]), name
