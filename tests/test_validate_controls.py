"""Negative controls of `abm validate`: each criterion names the rules it rests on, and its
study's arms run again with them ablated; the report shows both verdicts."""
from __future__ import annotations

import subprocess
import sys

from abm.validate.design import criteria_path, load_criteria
from abm.validate.runner import control_sets


def test_a_quick_validation_runs_the_controls_and_reports_both(tmp_path):
    out = tmp_path / "v"
    done = subprocess.run([sys.executable, "-m", "abm", "validate", "lo2020", "--quick", "--seeds", "4",
                           "--workers", "2", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 3), done.stderr  # 3: criteria failed, report written
    assert control_sets(load_criteria(criteria_path("lo2020"))) == [("nk.contact_kill",)]
    assert (out / "lo2020" / "without-nk.contact_kill" / "with_nk" / "seed500.h5").exists()  # fresh seeds from 500
    # 4 seeds: one value per run, and a one-sided Mann-Whitney test of 2 runs against 2 cannot reach p < 0.05
    report = (out / "report.md").read_text()
    row = next(line for line in report.splitlines() if "emt_restores_sensitivity" in line)
    assert "| nk.contact_kill |" in row  # its control ran
    assert "after EMT a cell has no epithelial context" in row  # labelled built-in, whatever its outcome
    assert "Summary: 5 results; 3 predictions counted" in report
    assert "configs/criteria/lo2020.yaml | `" in report  # the design's hash
    metrics = (out / "metrics.csv").read_text().splitlines()
    assert metrics[0].startswith("study,arm,seed,ablated,") and any(",nk.contact_kill," in m for m in metrics)


def test_validate_3d_runs_the_3d_tissues_on_3d_lattices_with_their_own_folders(tmp_path):
    from abm.config.sections import load_config
    from abm.validate.runner import THREE_D, plan

    tasks = plan(["chan2020", "lo2020"], quick=True, out_dir=str(tmp_path), controls=False, three_d=True)
    labels = {task.key[0] for task in tasks}
    assert labels == {"chan2020", "chan2020" + THREE_D, "lo2020"}  # Lo's tissue (lung capillaries) stays 2D
    for task in tasks:
        config = load_config(task.config, {**task.overrides, "seed": task.seed}, arm=task.config_arm,
                             check_sources=False)[0]
        organoid = task.key[0].endswith(THREE_D) and task.config_arm is not None  # pre-culture, assay: a dish
        assert (len(config.lattice.shape) == 3) == organoid
        assert (f"{THREE_D}/" in task.out) == task.key[0].endswith(THREE_D)


def test_the_clusters_of_each_assay_arm_seed_the_lung_under_the_same_arm(tmp_path):
    from abm.validate.protocol import AFTER
    from abm.validate.runner import plan

    tasks = [t for t in plan(["nw2025_clustering"], quick=True, out_dir=str(tmp_path), controls=False)
             if t.wave == AFTER]
    assert {t.arm for t in tasks} == {"wild_type", "plxnb2_knockout", "anti_vla4"}
    for task in tasks:  # the stage's own arm of that name (anti-VLA-4 still in force), the arm's assay run
        assert task.config_arm == task.arm and task.prefix == "lung_seeding." and task.metrics == "run"
        assert task.overrides["placement.0.file"] == f"{tmp_path}/nw2025_clustering/{task.arm}/seed{{seed:03d}}.h5"
