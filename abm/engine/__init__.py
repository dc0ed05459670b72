"""The engine: per-cell rules (cell_rules), composed into one kernel per phase (compose) and
compiled for the CPU or the GPU from one source (targets)."""
