"""abm calibrate: the calibration file's checks, a small calibration end to end on a LocalCluster,
reproducibility for a sampler seed and batch size, resume after an interruption, --apply as a
text edit, and abm validate refusing the calibration seeds."""
from __future__ import annotations

import difflib
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from abm.calibrate import driver
from abm.calibrate.apply import apply_best, format_value
from abm.calibrate.cli import run_calibration
from abm.calibrate.objective import MISSED_TOLERANCES, deviation, evaluate
from abm.calibrate.outputs import write_outputs
from abm.calibrate.spec import Target, load_calibration
from abm.validate.seeds import refuse_calibration_seeds
from abm.cli import main
from abm.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
PARAMETER_SET = ROOT / "configs" / "parameters" / "tissue_model.yaml"
FITTED = ("cells.tumor.death_rate_per_h", "cells.tumor.isolated_death_rate_per_h")  # the second has tissue values
# The project fits one parameter; these tests fit a second one with tissue values, labelled calibrated
# in their own copy of the set.
AS_CALIBRATED = (re.compile(r"(    isolated_death_rate_per_h:\n      value: )[0-9.]+\n      assumed: >-\n(?:        .*\n)+"),
                 "\\g<1>0.2686\n      calibrated:\n        target: t\n        data: d\n        seeds: s\n")
TINY_CHAN = {"lattice.shape": [30, 30], "placement.0.count": 20, "placement.1.inner_radius_um": 60,
             "placement.1.outer_radius_um": 150, "time.duration_h": 6.0}


def small_file(folder: Path, **changes) -> Path:
    """A two-parameter, two-target calibration on tiny chan2020 organoids (with its own copy of the set)."""
    text, found = AS_CALIBRATED[0].subn(AS_CALIBRATED[1], PARAMETER_SET.read_text())
    assert found == 1
    (folder / "tissue_model.yaml").write_text(text)
    spec = {
        "name": "small", "parameter_set": "tissue_model.yaml",
        "parameters": {FITTED[0]: {"low": 0.001, "high": 0.1, "log": True},
                       FITTED[1]: {"low": 0.05, "high": 5.0, "log": True}},
        "targets": {"no_nk": {"study": "chan2020", "arm": "no_nk", "metric": "caspase_any", "value": 0.43,
                              "tolerance": 0.1, "source": "Chan 2020"},
                    "healthy": {"study": "chan2020", "arm": "healthy_nk", "metric": "caspase_any", "value": 0.85,
                                "tolerance": 0.1, "source": "Chan 2020"}},
        "seeds": {"start": 1000, "count": 4},
        "sampler": {"kind": "tpe", "seed": 7, "startup_trials": 2},
        "trials": 3, "batch_size": 2,
        "quick": {"seeds": 2, "overrides": {"chan2020": TINY_CHAN}},
    }
    spec.update(changes)
    path = folder / "calibration.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def client():
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        yield client


def quiet(message):
    pass


# --- the calibration file ------------------------------------------------------------------------

def test_the_project_calibration_file_fits_exactly_the_calibrated_parameters():
    from abm.config.parameters import load_parameter_set

    calibration = load_calibration(ROOT / "configs" / "calibration.yaml")
    labelled = {p.key for p in load_parameter_set(PARAMETER_SET).labelled("calibrated")}
    assert set(calibration.spec.parameters) == labelled
    assert min(calibration.seeds) >= 30  # past every study's validation seeds
    assert ("chan2020", "no_nk") in calibration.arms()


@pytest.mark.parametrize("change, message", [
    ({"parameters": {"cells.tumor.division_rate_per_h": {"low": 0.01, "high": 0.1}}},
     "parameters.cells.tumor.division_rate_per_h: labelled assumed"),
    ({"parameters": {"cells.nk.no_such_rate": {"low": 0.01, "high": 0.1}}}, "not a parameter of tissue_model.yaml"),
    ({"seeds": {"start": 505, "count": 10}}, "overlap the validation seeds"),  # validation: 500 on
    ({"parameters": {FITTED[0]: {"low": 0.0, "high": 0.1, "log": True}}}, "log: true needs low > 0"),
    ({"targets": {"x": {"study": "chan2020", "arm": "nope", "metric": "caspase_any", "value": 1, "tolerance": 1,
                        "source": "s"}}}, "targets.x.arm: chan2020 has no arm 'nope'"),
    ({"targets": {"x": {"study": "chan2020", "arm": "no_nk", "metric": "caspase", "value": 1, "tolerance": 1,
                        "source": "s"}}}, "targets.x.metric: unknown metric 'caspase'"),
    ({"sampler": {"kind": "grid"}}, "sampler.kind"),
    ({"surprise": 1}, "surprise: unknown key"),
])
def test_bad_calibration_files_are_one_line_errors_naming_file_and_key(tmp_path, change, message):
    path = small_file(tmp_path, **change)
    with pytest.raises(ConfigError) as error:
        load_calibration(path)
    text = str(error.value)
    assert message in text and str(path) in text and "\n" not in text


def test_a_parameter_is_not_set_in_a_tissue_that_declares_its_own_value(tmp_path):
    """isolated_death_rate (collagen gel: its own value) stays as declared in the organoid runs; the
    parameters without a value of that tissue are set there."""
    calibration = load_calibration(small_file(tmp_path))
    values = {key: 0.5 for key in calibration.spec.parameters}
    assert set(values) == set(FITTED)
    assert set(calibration.overrides("chan2020", values)) == {"cells.tumor.death_rate_per_h"}  # collagen: own


def test_validate_refuses_the_calibration_seeds(tmp_path):
    path = small_file(tmp_path)
    refuse_calibration_seeds("chan2020", range(30), path)  # disjoint: fine
    with pytest.raises(ConfigError, match=r"validate chan2020: seeds 1000\.\.1001 are calibration seeds"):
        refuse_calibration_seeds("chan2020", range(1002), path)
    assert main(["validate", "chan2020", "--seeds", "1001", "--no-controls", "--out", str(tmp_path / "v")]) == 2


# --- read-outs and objective ----------------------------------------------------------------------

def test_objective_is_the_sum_of_squared_scaled_deviations_with_logs_for_ratios():
    plain = Target(study="s", arm="a", metric="m", value=0.4, tolerance=0.1, source="x")
    ratio = Target(study="s", arm="a", reference_arm="b", metric="m", per="n", value=10.0, tolerance=math.log(2),
                   log=True, weight=2.0, source="x")
    by_arm = {("s", "a"): [{"m": 0.2, "n": 1.0}, {"m": 0.4, "n": 1.0}],
              ("s", "b"): [{"m": 0.01, "n": 1.0}, {"m": 0.05, "n": 2.0}]}
    result = evaluate({"plain": plain, "ratio": ratio}, by_arm)
    assert result["read_outs"]["plain"] == pytest.approx(0.3)
    assert result["read_outs"]["ratio"] == pytest.approx(0.3 / (0.03 / 1.5))  # 15x
    assert result["deviations"]["plain"] == pytest.approx(-1.0)
    assert result["deviations"]["ratio"] == pytest.approx(math.log(1.5) / math.log(2))
    assert result["objective"] == pytest.approx(1.0 + 2.0 * (math.log(1.5) / math.log(2)) ** 2)
    assert deviation(ratio, float("inf")) == MISSED_TOLERANCES
    assert deviation(ratio, 0.0) == -MISSED_TOLERANCES


def test_cmaes_sampler_asks_a_batch():
    import optuna

    calibration = load_calibration(ROOT / "configs" / "calibration.yaml")
    spec = calibration.spec.model_copy(update={"sampler": calibration.spec.sampler.model_copy(
        update={"kind": "cmaes", "startup_trials": 0})})
    study = optuna.create_study()
    batch = driver.ask_batch(study, calibration.__class__(**{**calibration.__dict__, "spec": spec}), 3)
    assert [number for number, _ in batch] == [0, 1, 2]
    for _, values in batch:
        assert all(spec.parameters[k].low <= v <= spec.parameters[k].high for k, v in values.items())


# --- calibrating ---------------------------------------------------------------------------------

def parameters_of(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "trials.csv")[["trial", *FITTED, "objective"]]


@pytest.fixture(scope="module")
def whole(tmp_path_factory, client):
    """A 3-trial calibration in two batches (2 + 1), uninterrupted: (calibration, its folder)."""
    folder = tmp_path_factory.mktemp("calibration")
    calibration = load_calibration(small_file(folder), quick=True)
    run_calibration(calibration, folder / "whole", 3, client=client, log=quiet)
    write_outputs(calibration, folder / "whole", "test")
    return calibration, folder / "whole"


def test_a_small_calibration_end_to_end(whole):
    _, first = whole
    for output in ("trials.csv", "best.yaml", "report.md", "history.png", "slices.png", "target_slices.png",
                   "study.db"):
        assert (first / output).stat().st_size > 0, output
    assert len(list((first / "runs" / "trial0002" / "chan2020" / "healthy_nk").glob("seed100[01].h5"))) == 2
    table = pd.read_csv(first / "trials.csv")
    assert list(table["trial"]) == [0, 1, 2] and table["objective"].notna().all()
    best = yaml.safe_load((first / "best.yaml").read_text())
    assert best["objective"] == pytest.approx(table["objective"].min())
    assert set(best["targets"]) == {"no_nk", "healthy"} and best["seeds"] == "1000-1001"
    assert "flat slice" in (first / "report.md").read_text()


def test_the_same_sampler_seed_and_batch_size_give_the_same_trials(whole, tmp_path, client):
    calibration, first = whole
    run_calibration(calibration, tmp_path / "again", 3, client=client, log=quiet)
    write_outputs(calibration, tmp_path / "again", "test")
    pd.testing.assert_frame_equal(parameters_of(first), parameters_of(tmp_path / "again"))


def test_an_interrupted_calibration_continues_to_the_same_trials(whole, tmp_path, client, monkeypatch):
    calibration, first = whole
    real, calls = driver.evaluate_batch, []

    def stop_in_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(driver, "evaluate_batch", stop_in_second_batch)
    with pytest.raises(KeyboardInterrupt):
        run_calibration(calibration, tmp_path / "stopped", 3, client=client, log=quiet)
    assert len(driver.unfinished(driver.open_study(calibration, tmp_path / "stopped"))) == 1
    monkeypatch.setattr(driver, "evaluate_batch", real)
    run_calibration(calibration, tmp_path / "stopped", 3, client=client, log=quiet)
    write_outputs(calibration, tmp_path / "stopped", "test")
    pd.testing.assert_frame_equal(parameters_of(first), parameters_of(tmp_path / "stopped"))


def test_a_changed_calibration_does_not_continue_in_the_same_folder(tmp_path, client):
    run_calibration(load_calibration(small_file(tmp_path), quick=True), tmp_path / "out", 1, client=client, log=quiet)
    other = load_calibration(small_file(tmp_path, seeds={"start": 2000, "count": 4}), quick=True)
    with pytest.raises(ConfigError, match="holds a calibration with other"):
        run_calibration(other, tmp_path / "out", 2, client=client, log=quiet)


# --- --apply ---------------------------------------------------------------------------------------

def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:2] in ("- ", "+ ")]


def test_apply_changes_only_the_value_and_seeds_lines_of_the_fitted_entries(tmp_path):
    path = tmp_path / "tissue_model.yaml"
    before = AS_CALIBRATED[0].sub(AS_CALIBRATED[1], PARAMETER_SET.read_text())
    path.write_text(before)
    after = apply_best(path, {FITTED[0]: 0.00234567, FITTED[1]: 0.3333333}, "abm calibrate x, seeds 1000-1019")
    changed = changed_lines(before, after)
    assert len(changed) == 8  # two lines out, two in, per parameter
    assert "+       value: 0.002346" in changed and "+       value: 0.3333" in changed
    assert sum(line.startswith('+         seeds: "abm calibrate x') for line in changed) == 2
    assert after.count("value: 0.0\n") == before.count("value: 0.0\n")  # the tissues' own anoikis, untouched
    from abm.config.parameters import load_parameter_set

    fitted = load_parameter_set(path).parameters[FITTED[1]]
    assert fitted.value == pytest.approx(0.3333) and fitted.value_in("liver") == 0.0
    assert fitted.note["seeds"].startswith("abm calibrate x")


def test_apply_replaces_a_seeds_text_folded_over_lines(tmp_path):
    path = tmp_path / "set.yaml"
    path.write_text(PARAMETER_SET.read_text().replace(
        "        seeds: tuned by hand on the validation seeds before issue 12 (not yet refitted by abm calibrate)\n",
        "        seeds: tuned by hand on the validation seeds\n          before issue 12\n", 1))
    after = apply_best(path, {FITTED[0]: 1e-5}, "refit")
    assert "before issue 12\n      isolated" not in after and "value: 0.00001\n" in after
    assert format_value(1e-5) == "0.00001" and format_value(12) == "12.0"


def test_cli_calibrates_writes_its_outputs_and_applies(tmp_path):
    path = small_file(tmp_path)
    before = (tmp_path / "tissue_model.yaml").read_text()
    assert main(["calibrate", str(path), "--quick", "--apply", "--out", str(tmp_path / "q")]) == 2  # not applied
    assert not (tmp_path / "q").exists()
    code = main(["calibrate", str(path), "--seeds", "2", "--trials", "1", "--workers", "2", "--out",
                 str(tmp_path / "c"), "--apply"])
    assert code == 0
    best = yaml.safe_load((tmp_path / "c" / "best.yaml").read_text())
    after = (tmp_path / "tissue_model.yaml").read_text()
    assert len(changed_lines(before, after)) == 8
    assert f"value: {format_value(best['parameters'][FITTED[0]])}" in after
    assert "seeds 1000-1001, 1 trials" in after
