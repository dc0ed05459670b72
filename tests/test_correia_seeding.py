"""Correia 2021 by mechanisms (graded CXCL12 quiescence, IL-15 through expansion only) and the
2025 seeding study's arms with equal input (issue 12, item 4)."""
import numpy as np
import pytest

from abm import TissueModel
from abm.config.sections import load_config
from abm.errors import ConfigError
from abm.io.reader import Run
from abm.config.plugins import builtin_spec
from abm.runner import run_to_file
from abm.validate import evaluate
from abm.validate.design import criteria_path, load_criteria

LIVER = "configs/correia2021_liver.yaml"
SEEDING = "configs/northwestern2025_seeding.yaml"
TUMOR = builtin_spec().type_code["tumor"]
# activation from the start, a small lattice, three days
SMALL = {"lattice.shape": [50, 50], "placement.1.count": 6, "time.duration_h": 72.0,
         "interventions.stellate_activation.start_h": 0.0}


def _series(config, arm, seed, **overrides):
    model = TissueModel(config, device="cpu", arm=arm, seed=seed, overrides=overrides)
    model.run()
    return model.datacollector.get_model_vars_dataframe()


def _quiescent_fraction(efficiency, seed):
    """NK quiescent fraction over the last day, stellate cells activated, CXCR4 blocked by `efficiency`."""
    block = {"interventions.cxcr4_block.start_h": 0.0, "interventions.cxcr4_block.efficiency": efficiency}
    frame = _series(LIVER, "cxcr4_block", seed, **SMALL, **block)
    last_day = frame.iloc[-24 * 6:]  # 10-min steps
    return float((last_day["nk.quiescent"] / last_day["nk"].clip(lower=1)).mean())


def test_a_partial_cxcr4_block_gives_a_partial_effect():
    for seed in (0, 1):
        none, half, full = (_quiescent_fraction(e, seed) for e in (0.0, 0.5, 1.0))
        assert full == 0.0
        assert 0.1 < half < none - 0.05, (none, half, full)


def test_il15_expands_nk_cells_and_leaves_quiescence_alone():
    no_activation = {"lattice.shape": [50, 50], "placement.1.count": 6, "time.duration_h": 144.0,
                     "interventions.stellate_activation.inflammation_level": 0.0,
                     "interventions.il15.start_h": 0.0}
    with_il15 = _series(LIVER, "il15", 0, **no_activation)
    without = _series(LIVER, "baseline", 0, **{k: v for k, v in no_activation.items() if "interventions" not in k})
    assert with_il15["nk"].iloc[-1] > 2 * without["nk"].iloc[-1]
    # With NK division and death off, IL-15 has nothing left to act on: quiescence is the same, step by step.
    still = {**SMALL, "cells.nk.proliferation_rate_per_h": 0.0, "cells.nk.death_rate_per_h": 0.0,
             "interventions.il15.start_h": 0.0}
    il15 = _series(LIVER, "il15", 0, **still)
    alone = _series(LIVER, "stellate_activation", 0, **{k: v for k, v in still.items() if "il15" not in k})
    assert il15["nk.quiescent"].max() > 0
    assert il15["nk.quiescent"].tolist() == alone["nk.quiescent"].tolist()


@pytest.mark.parametrize("key, hint", [("cxcl12_quiescence_threshold", "replaced by cxcl12_quiescence_half_max"),
                                       ("il15_quiescence_resistance", "is removed: IL-15 acts through")])
def test_the_old_quiescence_keys_are_refused_with_a_hint(key, hint):
    with pytest.raises(ConfigError) as error:
        load_config(LIVER, {f"cells.nk.{key}": 0.01})
    assert hint in str(error.value) and "\n" not in str(error.value)


def test_seeding_arms_seed_the_same_tumor_cells_at_the_same_spacing(tmp_path):
    seeded, spacing = {}, {}
    for arm in ("single_cells", "clusters"):
        out = tmp_path / f"{arm}.h5"
        run_to_file(SEEDING, overrides={"time.duration_h": 1.0}, arm=arm, out=out, device="cpu",
                    progress=False, log=lambda message: None)
        with Run(out) as run:
            first = run.snapshot(run.snapshot_steps[0])
        seeded[arm] = int((first["agents"]["cell_type"] == TUMOR).sum())
        spacing[arm] = load_config(SEEDING, arm=arm)[0].placement[0].min_spacing_um
    assert seeded["single_cells"] == seeded["clusters"] == 100
    assert spacing["single_cells"] == spacing["clusters"]


def _dose_criterion():
    design = load_criteria(criteria_path("correia2021"))
    return next(c for c in design.criteria if c.id == "cxcr4_block_dose_response")


def test_the_dose_arms_rise_in_block_efficiency():
    arms = _dose_criterion().arms
    efficiency = [load_config(LIVER, arm=arm)[0].interventions.cxcr4_block for arm in arms]
    levels = [0.0 if block is None else block.efficiency for block in efficiency]
    assert levels == sorted(levels) and len(set(levels)) == len(levels)


def test_the_dose_response_criterion_needs_lesions_to_fall_with_the_dose():
    criterion = _dose_criterion()

    def holds(means):
        rng = np.random.default_rng(0)
        runs = {arm: [{"seeded_lesions": float(x)} for x in rng.poisson(m, 8)] for arm, m in zip(criterion.arms, means)}
        return evaluate.holds(criterion, evaluate.run_test(criterion, runs, 0.05)[0], 0.05)

    assert holds([4, 2, 0.2, 0])
    assert not holds([2, 2, 2, 2])
    assert not holds([0, 0.2, 2, 4])
    assert not holds([0, 0, 0, 0])
