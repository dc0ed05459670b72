"""The engine: per-cell rules (cell_rules), composed into one kernel per phase (compose) and
compiled for the CPU or the GPU from one source (targets).

What a plugin's per-cell rules import (docs/extending.md):

    from abm.engine import cell_rule, cell_function, current_value
    from abm.engine import happens, happens_with, hill, as_threshold, pick_from_mask, site_at_offset
    from abm.rules.walk import walk_step
"""
from .cell_rules import CellRule, cell_function, cell_rule, current_value  # noqa: F401
from .scalar import as_threshold, happens, happens_with, hill, pick_from_mask, site_at_offset  # noqa: F401
