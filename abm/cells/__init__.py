"""The built-in cell types, one module each. Each declares a `CellType` (abm/spec.py) and adds it
with ``register(spec)``, exactly as a plugin in a user's own package does (docs/extending.md)."""

BUILTIN = ("abm.cells.tumor", "abm.cells.nk", "abm.cells.stellate", "abm.cells.neutrophil", "abm.cells.tcell")
