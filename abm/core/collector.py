"""Mesa's DataCollector, whose table is read whole even while a step is collecting.

Mesa's SolaraViz steps the model in one thread (play) while its plot components read
`get_model_vars_dataframe()` in another. Mesa appends a step's values column by column, so a
read in between found columns one row apart and pandas refused them ("Length of values (269)
does not match length of index (268)"): the plot failed and play stopped. Here a read takes the
rows every column has; the step's row appears with the next read.

Mesa also deep-copies every value it collects, in case a reporter returns a mutable object. The
tissue model's reporters return cell counts and event tallies (ints), so a step's values are
appended as they are: the same table, without ~30 deep copies per step (a sixth of a small
model's step).
"""
from __future__ import annotations

import types
from functools import partial

import mesa
import pandas as pd


class DataCollector(mesa.DataCollector):
    """Mesa's DataCollector for reporters that each return an immutable number."""

    def collect(self, model):
        reporters = tuple(self.model_reporters.values())
        if getattr(self, "_checked", (None,))[0] != reporters:  # asked again only when the reporters change
            self._checked = (reporters, all(isinstance(r, types.LambdaType | partial) for r in reporters))
        if self.agent_reporters or self.agenttype_reporters or not self._validated or not self._checked[1]:
            return super().collect(model)  # the first call checks the reporters, as Mesa's does
        for name, reporter in self.model_reporters.items():
            self.model_vars[name].append(reporter(model))

    def get_model_vars_dataframe(self):
        """One row per collected step, one column per model reporter (rows every column has)."""
        columns = dict(self.model_vars)  # a snapshot of the lists; appends after it do not matter
        rows = min((len(values) for values in columns.values()), default=0)
        return pd.DataFrame({name: values[:rows] for name, values in columns.items()})
