"""`abm calibrate`: fit the parameters labelled calibrated to their targets on fresh seeds
(spec.py: the calibration file; driver.py: optuna ask-and-tell on Dask; objective.py: read-outs
and objective; outputs.py and plots.py: what it writes; apply.py: --apply)."""
