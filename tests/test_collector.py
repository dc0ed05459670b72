"""The model's DataCollector: Mesa's table, collected without Mesa's per-value deep copies."""
from __future__ import annotations

import mesa

from abm import TissueModel
from abm.core.collector import DataCollector


def test_the_table_equals_mesas_own_collector():
    model = TissueModel("configs/default.yaml", device="cpu", seed=2,
                        overrides={"lattice.shape": [30, 30], "placement.0.count": 40, "placement.1.count": 10})
    reporters = model.datacollector.model_reporters
    mesas = mesa.DataCollector(model_reporters=reporters)
    ours = DataCollector(model_reporters=reporters)
    for _ in range(6):
        model.step()
        mesas.collect(model)
        ours.collect(model)
    assert ours._validated  # the first call went through Mesa's checks, the later ones not
    assert dict(ours.model_vars) == dict(mesas.model_vars)
    assert ours.get_model_vars_dataframe().equals(mesas.get_model_vars_dataframe())
    assert ours.get_model_vars_dataframe().equals(model.datacollector.get_model_vars_dataframe().iloc[1:].reset_index(drop=True))


def test_other_reporters_take_mesas_path():
    model = mesa.Model()
    model.value = [1]
    collector = DataCollector(model_reporters={"value": "value"})
    collector.collect(model)
    model.value.append(2)
    collector.collect(model)
    assert collector.model_vars["value"] == [[1], [1, 2]]  # copied, as Mesa does
