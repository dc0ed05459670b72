"""`abm sensitivity`: how the studies' conclusions depend on the assumed parameters.

Each study's factors are the *assumed* parameters of the tissue model's parameter set that a
rule active in the study's scenario reads (factors.py), varied log-uniformly over
[value / range, value * range]; calibrated and measured parameters are held. Every design point
runs the study's arms over a few seeds of their own (execute.py), reads the effects its
conclusions rest on (readouts.py) and SALib gives Morris or Sobol indices (design.py); report.py
says, per conclusion, whether it holds over the whole range or where it flips, and why.
"""
