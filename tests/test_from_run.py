"""Placement pattern from_run: cells carried from another run's last snapshot, with named columns,
deterministic, with the source's path and content hash recorded, and one-line errors."""
from __future__ import annotations

import hashlib
import json

import h5py
import numpy as np
import pytest

from abm import TissueModel
from abm.config.sections import load_config
from abm.errors import ConfigError
from abm.io.reader import Run
from abm.config.plugins import builtin_spec
from abm.runner import run_to_file

SPEC = builtin_spec()
NK, TUMOR = SPEC.type_code["nk"], SPEC.type_code["tumor"]


def _source_config(receptors=3.0) -> dict:
    """Tumor and NK cells whose NK start exposed (receptors past the threshold)."""
    return {"name": "source", "seed": 5, "lattice": {"shape": [30, 30], "dx_um": 15.0},
            "time": {"dt_min": 6.0, "duration_h": 2.0},
            "cells": {"tumor": {"division_rate_per_h": 0.5},
                      "nk": {"kill_probability_per_contact": 0.0, "initial_inhibitory_receptors": receptors,
                             "move_rate_per_h": 30.0,
                             "inhibitory_receptor_gain_per_contact": 0.25, "exposed_threshold": 2.0}},
            "placement": [{"pattern": "ball", "cell_type": "tumor", "count": 60},
                          {"pattern": "scatter", "cell_type": "nk", "count": 12, "inner_radius_um": 70,
                           "outer_radius_um": 110}],
            "output": {"snapshot_every_steps": 0}}


def _target(source_file, **entry) -> dict:
    placement = {"pattern": "from_run", "cell_type": "nk", "file": str(source_file), "layout": "scatter",
                 "count": 5, "columns": ["inhibitory_receptors", "state"], **entry}
    return {"name": "target", "seed": 1, "lattice": {"shape": [40, 40], "dx_um": 15.0},
            "time": {"dt_min": 6.0, "duration_h": 0.6},
            "cells": {"nk": {"kill_probability_per_contact": 0.0}},
            "placement": [{"pattern": "ball", "cell_type": "tumor", "count": 20}, placement],
            "output": {"snapshot_every_steps": 0}}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("source") / "source.h5"
    run_to_file(_source_config(), out=path, progress=False, log=lambda message: None)
    return path


def _placed(model, type_code):
    table = model.agents_table()
    return {name: values[table["cell_type"] == type_code] for name, values in table.items()}


def test_columns_are_carried_and_the_rest_start_fresh(source):
    with Run(source) as run:
        last = run.snapshot()["agents"]
    nk_source = last["cell_type"] == NK
    model = TissueModel(_target(source), device="cpu")
    placed = _placed(model, NK)
    assert len(placed["id"]) == 5
    receptors = last["inhibitory_receptors"][nk_source]
    assert np.isin(placed["inhibitory_receptors"], receptors).all()
    assert len(np.unique(receptors)) > 1  # the source's NK differ: carrying picks real cells, not one value
    assert (placed["inhibitory_receptors"] >= 3.0).all() and (placed["kills"] == 0).all()
    # a state is carried by name; kills (not named) start at 0
    pairs = set(zip(last["inhibitory_receptors"][nk_source].tolist(), last["state"][nk_source].tolist()))
    assert set(zip(placed["inhibitory_receptors"].tolist(), placed["state"].tolist())) <= pairs


def test_placement_is_deterministic_from_seed_and_index(source):
    a, b = TissueModel(_target(source), device="cpu"), TissueModel(_target(source), device="cpu")
    c = TissueModel(_target(source), device="cpu", seed=2)
    for name in ("site", "inhibitory_receptors", "state"):
        assert np.array_equal(_placed(a, NK)[name], _placed(b, NK)[name])
    assert not np.array_equal(_placed(a, NK)["site"], _placed(c, NK)["site"])


def test_scatter_uses_the_same_sites_as_a_scatter_entry(source):
    """The same draw as pattern scatter: an arm that swaps fresh for carried cells keeps their places."""
    fresh = _target(source)
    fresh["placement"][1] = {"pattern": "scatter", "cell_type": "nk", "count": 5}
    assert np.array_equal(_placed(TissueModel(fresh, device="cpu"), NK)["site"],
                          _placed(TissueModel(_target(source), device="cpu"), NK)["site"])


def test_the_run_file_records_the_source_and_its_hash(source, tmp_path):
    out = run_to_file(_target(source), out=tmp_path / "t.h5", progress=False, log=lambda message: None)
    with Run(out) as run:
        recorded = json.loads(run.attrs["placement_sources"])
    assert recorded == [{"placement": 1, "file": str(source), "cells": 5,
                         "sha256": hashlib.sha256(source.read_bytes()).hexdigest()}]


def test_clonal_layout_puts_one_cell_per_block_centre(source):
    config = _target(source, layout="clonal", block_um=150.0, count=None, columns=[])
    config["placement"] = [{**config["placement"][1], "cell_type": "tumor", "states": ["proliferating"]}]
    model = TissueModel(config, device="cpu")
    sites = _placed(model, TUMOR)["site"]
    x, y = np.unravel_index(sites, (40, 40))
    assert len(sites) == 16  # 4 x 4 blocks of 10 sites fit; the source has more viable cells
    assert set(x % 10) == {5} and set(y % 10) == {5}
    assert len(set(zip(x // 10, y // 10))) == 16


def test_a_missing_source_is_an_error_at_load(tmp_path):
    with pytest.raises(ConfigError, match=r"placement.1.file: source run .*nothing.h5 not found"):
        load_config(_target(tmp_path / "nothing.h5"))


def test_an_incomplete_source_is_a_one_line_error_naming_both_files(source, tmp_path):
    copy = tmp_path / "incomplete.h5"
    copy.write_bytes(source.read_bytes())
    with h5py.File(copy, "r+") as handle:
        handle.attrs["completed"] = False
        handle.attrs["status"] = "interrupted"
    config = tmp_path / "target.yaml"
    import yaml

    config.write_text(yaml.safe_dump(_target(copy)))
    with pytest.raises(ConfigError) as error:
        TissueModel(str(config), device="cpu")
    message = str(error.value)
    assert "\n" not in message and str(config) in message and str(copy) in message
    assert "placement.1.file" in message and "not a completed run (status interrupted)" in message


def test_unknown_columns_and_states_are_refused(source):
    with pytest.raises(ConfigError, match=r"placement.1.columns.0: 'id' cannot be carried"):
        load_config(_target(source, columns=["id"]))
    with pytest.raises(ConfigError, match=r"placement.1.states.0: nk has no state 'sleepy'"):
        load_config(_target(source, states=["sleepy"]))
    with pytest.raises(ConfigError, match=r"placement.1: layout clonal needs block_um"):
        load_config(_target(source, layout="clonal"))


def test_other_arms_of_a_file_are_not_required_to_have_their_sources(tmp_path):
    config = _target(tmp_path / "later.h5")
    config["placement"][1] = {"pattern": "scatter", "cell_type": "nk", "count": 5}
    config["arms"] = {"carried": {"placement.1": _target(tmp_path / "later.h5")["placement"][1]}}
    load_config(config)  # the base runs; the arm's source is made later
    with pytest.raises(ConfigError, match="not found"):
        load_config(config, arm="carried")
