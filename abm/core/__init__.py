"""The simulation core: the tissue (state.py: lattice, agents, fields), the model and its step
(model.py), which rules run (schedule.py), what cells sense (sensing.py), claim-then-resolve
(resolution.py), initial placement (placement/), the backend (NumPy or CuPy) and data collection."""
