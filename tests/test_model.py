"""The spine end to end on the CPU: invariants, bookkeeping, reproducibility, Mesa interop."""
import h5py
import mesa
import numpy as np
import pytest

from abm import TissueModel
from abm.runner import run_to_file

SMALL = {
    "lattice.shape": [40, 40],
    "time.duration_h": 100.0,  # 1000 steps of 6 min
    "cells.tumor.division_rate_per_h": 0.2,
    "cells.tumor.death_rate_per_h": 0.02,
    "cells.nk.kill_probability_per_contact": 0.3,
    # the minimal biology of the spine: no dormancy, instant kills without a budget, dead cells go at once
    "cells.tumor.dormancy_entry_rate_per_h": 0.0, "cells.nk.conjugation_time_min": 0.0, "cells.nk.max_kills": 0,
    "cells.tumor.caspase_duration_min": 0.0, "cells.tumor.leader_rate_per_h": 0.0,
    "placement": [
        {"pattern": "ball", "cell_type": "tumor", "count": 200},
        {"pattern": "scatter", "cell_type": "nk", "count": 60},
    ],
    "output.snapshot_every_steps": 10,
}


def small_model(**extra):
    return TissueModel("configs/default.yaml", device="cpu", overrides={**SMALL, **extra})


def test_births_minus_deaths_is_the_change_in_count_and_invariants_hold_every_step():
    model = small_model(**{"debug.check_invariants": True})  # checks after every step
    total_before = model.cells.n
    tumor_before = model.count("tumor")
    ids_seen = set(model.agents_table()["id"].tolist())
    model.run(1000)
    assert model.steps == 1000
    assert model.totals["births"] > 100 and model.totals["deaths"] > 100 and model.totals["kills"] > 10
    assert model.cells.n - total_before == model.totals["births"] - model.totals["deaths"]
    assert model.count("tumor") - tumor_before == model.totals["births"] - model.totals["deaths"]
    assert model.count("nk") == 60  # NK cells neither divide nor die in the minimal biology
    ids_now = model.agents_table()["id"]
    assert model.cells.next_id == len(ids_seen) + model.totals["births"]  # every birth got a new id
    assert len(np.unique(ids_now)) == len(ids_now)


def test_three_dimensional_lattice_with_von_neumann_contacts():
    model = TissueModel("configs/default.yaml", device="cpu", overrides={
        **SMALL, "lattice.shape": [16, 16, 16], "lattice.neighbourhood": "von_neumann",
        "debug.check_invariants": True, "cells.nk.ifng_secretion_per_min": 0.05})  # a tonic release to diffuse
    n0 = model.cells.n
    model.run(200)
    assert model.cells.n - n0 == model.totals["births"] - model.totals["deaths"]
    assert model.fields["ifng"].shape == (16, 16, 16) and float(model.fields["ifng"].max()) > 0


def test_per_step_counts_agree_with_the_time_series_of_events():
    model = small_model()
    model.run(50)
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 51  # initial state + 50 steps
    total = frame["tumor"] + frame["nk"]
    assert np.array_equal(np.diff(total.to_numpy()), (frame["births"] - frame["deaths"]).to_numpy()[1:])
    assert (frame["tumor.proliferating"] == frame["tumor"]).all()


def test_killing_needs_contact_and_a_positive_probability():
    model = small_model(**{"cells.nk.kill_probability_per_contact": 0.0, "cells.tumor.death_rate_per_h": 0.0})
    model.run(100)
    assert model.totals["kills"] == 0 and model.totals["deaths"] == 0


def _datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[...]) if isinstance(obj, h5py.Dataset) else None)
    return out


def test_same_seed_same_output_other_seed_other_output(tmp_path):
    overrides = {**SMALL, "time.duration_h": 10.0}
    paths = []
    for label, seed in (("a", 7), ("b", 7), ("c", 8)):
        paths.append(run_to_file("configs/default.yaml", overrides={**overrides, "seed": seed},
                                 out=tmp_path / f"{label}.h5", device="cpu", progress=False, log=lambda m: None))
    first, second, other = (_datasets(p) for p in paths)
    assert first.keys() == second.keys()
    for name in first:
        assert np.array_equal(first[name], second[name]), name
    assert any(not np.array_equal(first[n], other[n]) for n in first if n in other and "agents/site" in n)
    with h5py.File(paths[0], "r") as f:
        assert f.attrs["completed"] and f.attrs["seed"] == 7 and f.attrs["steps_done"] == 100


def test_datacollector_and_mesa_batch_run():
    results = mesa.batch_run(
        TissueModel,
        parameters={"config": "configs/default.yaml", "device": "cpu", "lattice.shape": [[30, 30]],
                    "time.duration_h": 1.0, "placement.0.count": 50, "placement.1.count": 20,
                    "cells.nk.kill_probability_per_contact": [0.0, 0.5]},
        iterations=2, max_steps=10, number_processes=1, display_progress=False)
    assert len(results) == 4
    assert {r["cells.nk.kill_probability_per_contact"] for r in results} == {0.0, 0.5}
    for row in results:
        # Mesa's batch_run reports the row of index model.steps - 1 (our row 0 is the initial state)
        assert row["Step"] == 9 and row["tumor"] > 0 and row["nk"] == 20


def test_batch_run_iterations_with_rng_are_reproducible():
    kwargs = dict(parameters={"config": "configs/default.yaml", "device": "cpu", "lattice.shape": [[30, 30]],
                              "placement.0.count": 50, "placement.1.count": 20, "rng": [1, 2]},
                  iterations=1, max_steps=15, display_progress=False)
    first, second = mesa.batch_run(TissueModel, **kwargs), mesa.batch_run(TissueModel, **kwargs)
    assert [r["tumor"] for r in first] == [r["tumor"] for r in second]


def test_gpu_request_without_a_gpu_is_a_clear_error():
    pytest.importorskip("numpy")
    try:
        import cupy  # noqa: F401

        if cupy.is_available():
            pytest.skip("a GPU is available here")
    except ImportError:
        pass
    from abm.errors import ConfigError

    with pytest.raises(ConfigError, match="gpu"):
        TissueModel("configs/default.yaml", device="gpu")


def test_the_datacollector_table_reads_whole_while_a_step_collects():
    """SolaraViz reads the table in one thread while play steps in another: a read between two
    columns' appends gives the rows every column has, not pandas' length error."""
    from abm.core.collector import DataCollector
    from run_helpers import ROOT

    model = TissueModel(str(ROOT / "configs" / "minimal_rules.yaml"), device="cpu", overrides={"lattice.shape": [20, 20]})
    model.run(3)
    collector = model.datacollector
    assert isinstance(collector, DataCollector) and isinstance(collector, mesa.DataCollector)
    first = next(iter(collector.model_vars))
    collector.model_vars[first].append(0)  # one column a row ahead, as mid-collect
    frame = collector.get_model_vars_dataframe()
    assert len(frame) == 4 and list(frame.columns) == list(collector.model_vars)
