"""The complete cell type that docs/extending.md shows in one file runs as written: a plugin
from the documentation alone, with its own type, a rule on NK cells through their behaviour,
and the same results on the GPU code path."""
from __future__ import annotations

import re

import pytest
import yaml

from abm import TissueModel
from abm.cli import main
from abm.testing import assert_same_state, host_gpu, model_state  # noqa: F401 (host_gpu: a pytest fixture)
from run_helpers import ROOT, standalone_raw


def documented_module() -> str:
    text = (ROOT / "docs" / "extending.md").read_text()
    found = re.search(r"<!-- whole-cell-type -->\n```python\n(.*?)```", text, re.S)
    assert found, "docs/extending.md lost its whole-cell-type block"
    return found.group(1)


@pytest.fixture
def fibroblast_config(tmp_path, monkeypatch):
    (tmp_path / "fibroblast.py").write_text(documented_module())
    monkeypatch.syspath_prepend(str(tmp_path))
    raw = standalone_raw(ROOT / "configs" / "default.yaml")  # the values written in: no parameter file needed
    raw.update(plugins=["fibroblast"], lattice={"shape": [50, 50], "dx_um": 20.0, "neighbourhood": "moore"},
               time={"dt_min": 6.0, "duration_h": 6.0})
    raw["placement"] = [{"pattern": "ball", "cell_type": "tumor", "count": 120},
                        {"pattern": "scatter", "cell_type": "fibroblast", "count": 60, "inner_radius_um": 100,
                         "outer_radius_um": 300},
                        {"pattern": "scatter", "cell_type": "nk", "count": 30, "inner_radius_um": 150,
                         "outer_radius_um": 400}]
    path = tmp_path / "fibroblasts.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_the_documented_cell_type_runs_and_acts(fibroblast_config, capsys):
    model = TissueModel(fibroblast_config, device="cpu", seed=1, overrides={"debug.check_invariants": True})
    model.run()
    assert model.count("fibroblast", "activated") > 0
    assert main(["rules", fibroblast_config]) == 0
    out = capsys.readouterr().out
    assert "nk.fibroblast_hold  [decide, runs]" in out and "behaviour fibroblast.activation (1/h" in out


def test_the_documented_cell_type_on_the_gpu_code_path(fibroblast_config, host_gpu):
    runs = [model_state(_run(fibroblast_config, device)) for device in ("cpu", "gpu")]
    assert_same_state(*runs)


def _run(config, device):
    model = TissueModel(config, device=device, seed=1)
    model.run()
    return model
