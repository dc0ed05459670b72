"""Mesa's DataCollector, whose table is read whole even while a step is collecting.

Mesa's SolaraViz steps the model in one thread (play) while its plot components read
`get_model_vars_dataframe()` in another. Mesa appends a step's values column by column, so a
read in between found columns one row apart and pandas refused them ("Length of values (269)
does not match length of index (268)"): the plot failed and play stopped. Here a read takes the
rows every column has; the step's row appears with the next read.
"""
from __future__ import annotations

import mesa
import pandas as pd


class DataCollector(mesa.DataCollector):
    def get_model_vars_dataframe(self):
        """One row per collected step, one column per model reporter (rows every column has)."""
        columns = dict(self.model_vars)  # a snapshot of the lists; appends after it do not matter
        rows = min((len(values) for values in columns.values()), default=0)
        return pd.DataFrame({name: values[:rows] for name, values in columns.items()})
