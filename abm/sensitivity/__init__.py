"""`abm sensitivity`: how the studies' conclusions depend on the assumed parameters.

Each study's factors are the *assumed* parameters of the tissue model's parameter set that a
rule active in the study's scenario reads (factors.py), varied log-uniformly over
[value / range, value * range]; calibrated and measured parameters are held. Every design point
runs the arms the study's criteria name over a few seeds of their own (execute.py), measures
each criterion's effect and whether its claim holds there (readouts.py: the criteria files of
configs/criteria/, the contrasts of abm/validate/evaluate.py) and SALib gives Morris or Sobol
indices (design.py); report.py says, per criterion, at how many points it holds (robustness.csv),
where it flips, and why.
"""
