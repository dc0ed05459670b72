"""Chan 2020 by simulated protocols: NK cells exposed in a pre-culture, an organoid co-culture,
a colony assay of its surviving cells; colonies counted from the assay's last snapshot."""
from __future__ import annotations

import json
import shutil

import numpy as np
import yaml

from abm import TissueModel
from abm.io.reader import Run
from abm.config.plugins import builtin_spec
from abm.validate import runner, studies
from abm.validate.design import criteria_path, load_criteria
from abm.validate.metrics import colony_count
from run_helpers import ROOT, standalone_raw

CONFIGS = ROOT / "configs"
FILES = ("chan2020_preculture.yaml", "chan2020_organoid.yaml", "chan2020_colony_assay.yaml")
TUMOR, NK = builtin_spec().type_code["tumor"], builtin_spec().type_code["nk"]
APOPTOTIC = builtin_spec().state["tumor"]["apoptotic"]


def test_the_three_protocol_files_give_the_cells_the_one_parameter_set():
    raws = [yaml.safe_load((CONFIGS / name).read_text()) for name in FILES]
    assert {raw["include"] for raw in raws} == {"parameters/tissue_model.yaml"}
    assert [raw["tissue"] for raw in raws] == ["collagen_gel", "collagen_gel", "matrigel"]  # the assay: a dish


def test_the_preculture_makes_exposed_nk_cells_by_education():
    model = TissueModel(str(CONFIGS / "chan2020_preculture.yaml"), device="cpu", seed=900)
    model.run()
    table = model.agents_table()
    nk = table["cell_type"] == NK
    threshold = model.config.cells.nk.exposed_threshold
    assert (table["inhibitory_receptors"][nk] >= threshold).mean() >= 0.7
    assert model.config.cells.nk.initial_inhibitory_receptors == 0  # nothing set by hand


def test_healthy_nk_cells_stay_healthy_through_the_organoid_co_culture():
    model = TissueModel(str(CONFIGS / "chan2020_organoid.yaml"), device="cpu", arm="healthy_nk", seed=900)
    model.run()
    table = model.agents_table()
    receptors = table["inhibitory_receptors"][table["cell_type"] == NK]
    assert receptors.max() > 0 and (receptors < model.config.cells.nk.exposed_threshold).all()


def _snapshot(groups, shape=(30, 30)):
    """Viable tumor cells on the given groups of sites."""
    cell_type = np.full(shape, -1, dtype=np.int8)
    cell_state = np.zeros(shape, dtype=np.int8)
    for sites in groups:
        for x, y in sites:
            cell_type[x, y] = TUMOR
    return {"cell_type": cell_type, "cell_state": cell_state}


def test_colony_count_counts_connected_viable_groups_of_at_least_k_cells():
    big = [(x, y) for x in range(2, 8) for y in range(2, 7)]  # 30 cells
    medium = [(x, y) for x in range(15, 20) for y in range(15, 19)]  # 20
    small = [(25, 25), (26, 26)]  # 2, touching diagonally
    snapshot = _snapshot([big, medium, small])
    assert colony_count(snapshot, 20) == 2 and colony_count(snapshot, 21) == 1 and colony_count(snapshot, 2) == 3
    snapshot["cell_state"][17, 15:19] = APOPTOTIC  # caspase+ cells split the medium group in two of 8
    assert colony_count(snapshot, 8) == 3 and colony_count(snapshot, 9) == 1


def _tiny_protocol(folder):
    """The three chan2020 files, small and short (a few seconds each), in `folder`."""
    edits = {
        "chan2020_preculture.yaml": {"lattice": {"shape": [16, 16], "dx_um": 15.0}, "time": {"duration_h": 4.0},
                                     "placement": [{"pattern": "scatter", "cell_type": "tumor", "count": 180},
                                                   {"pattern": "scatter", "cell_type": "nk", "count": 12}]},
        "chan2020_organoid.yaml": {"lattice": {"shape": [30, 30], "dx_um": 15.0, "neighbourhood": "moore"},
                                   "time": {"dt_min": 6.0, "duration_h": 3.0}},
        "chan2020_colony_assay.yaml": {"lattice": {"shape": [60, 60], "dx_um": 15.0, "neighbourhood": "moore"},
                                       "time": {"duration_h": 24.0}, "validation": {"colony_min_cells": 2}},
    }
    for name, changes in edits.items():
        raw = standalone_raw(CONFIGS / name)  # the parameter set's values written in: the copy stands alone
        raw.update(changes)
        raw["cells"]["nk"]["inhibitory_receptor_gain_per_contact"] = 0.4  # exposed within hours
        if name == "chan2020_organoid.yaml":
            raw["placement"][0]["count"] = 30
            for placement in [raw["placement"][1]] + [arm["placement.1"] for arm in raw["arms"].values()
                                                      if "placement.1" in arm]:
                placement.update({"inner_radius_um": 60, "outer_radius_um": 150})
            raw["validation"]["quick_seeds"] = 1
        if name == "chan2020_colony_assay.yaml":
            raw["placement"][0]["block_um"] = 150.0
        (folder / name).write_text(yaml.safe_dump(raw, sort_keys=False))
    for study in studies.STUDIES.values():
        if not (folder / study.config).exists():
            shutil.copy(studies.config_path(study), folder / study.config)
    shutil.copytree(CONFIGS / "parameters", folder / "parameters")


def test_one_small_protocol_end_to_end_through_the_validate_runner(tmp_path, monkeypatch):
    configs = tmp_path / "configs"
    configs.mkdir()
    _tiny_protocol(configs)
    monkeypatch.setattr(studies, "CONFIGS", configs)
    out = tmp_path / "v"
    tasks = runner.plan(["chan2020"], quick=True, out_dir=str(out))
    design = load_criteria(criteria_path("chan2020"))
    per_control = [1 + 2 * len(runner.control_arms(design, rules)) for rules in runner.control_sets(design)]
    assert per_control == [3, 9, 7, 5]  # a control reruns the pre-culture and only its criteria's arms
    assert {t.wave for t in tasks} == {0, 1, 2} and len(tasks) == (1 + 4 + 4) + sum(per_control)
    results = runner.execute(tasks, _local(2))

    chan = out / "chan2020"
    preculture, organoid, assay = (chan / "preculture/seed500.h5", chan / "exposed_nk/seed500.h5",
                                   chan / "colony_assay/exposed_nk/seed500.h5")
    for path, source in ((organoid, preculture), (assay, organoid)):
        with Run(path) as run:
            assert [s["file"] for s in json.loads(run.attrs["placement_sources"])] == [str(source)]
    with Run(organoid) as run:
        placed = run.snapshot(0)["agents"]
        assert (placed["inhibitory_receptors"][placed["cell_type"] == NK] > 0).all()  # pre-cultured
    main = results[("chan2020", ())]
    assert set(main) == {"no_nk", "healthy_nk", "exposed_nk", "exposed_nk_tigit_klrg1_block"}
    for arm, runs in main.items():
        assert runs[0]["colony_cells_plated"] > 0 and runs[0]["colonies"] >= 1, arm
        assert np.isfinite(runs[0]["caspase_any"])  # the organoid's own read-outs are there too

    # The control without education ablates it in the pre-culture: its NK cells arrive healthy.
    with Run(chan / "without-nk.education/exposed_nk/seed500.h5") as run:
        placed = run.snapshot(0)["agents"]
        assert (placed["inhibitory_receptors"][placed["cell_type"] == NK] == 0).all()
    checks = runner.check(results, quick=True)
    colony = next(c for c in checks if c.criterion.id == "exposed_nk_more_colonies" and c.dimension == "2d")
    assert colony.criterion.mechanism == ("tumor.exposed_nk_division_boost",) and colony.control is not None

    # Complete runs of the same config and sources are reused, not run again.
    stamps = {path: path.stat().st_mtime_ns for path in out.rglob("*.h5")}
    runner.execute(tasks, _local(1))
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*.h5")} == stamps


def _local(workers):
    from abm.sweep.engine import with_cli_options
    from abm.sweep.spec import LocalEngine

    return with_cli_options(LocalEngine(kind="local"), workers=workers)
