"""Pictures of runs: `abm plot` (plot.py)."""
