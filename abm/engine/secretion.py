"""Secretion and uptake at the cells' sites: what the types' secrete phases decided, applied to the
fields in one kernel (c <- (c + secreted) * keep, keep = 1 / (1 + uptake rate * dt): implicit,
never negative). One cell per site, so no two cells meet at a site and the order is free.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from . import targets
from .step_kernels import launch_step_kernel, secretion_program


class Secretion:
    """Built once per model from the types' secrete phases."""

    def __init__(self, spec, config, schedule, config_source: str):
        self.config_source = config_source
        by_type, self.missing = {}, {}
        for name, t in schedule.types.items():
            if t.compiled is None or "secrete" not in t.compiled.programs:
                continue
            outputs = {o.name for o in t.compiled.programs["secrete"].outputs}
            fields = sorted({o.split("_", 1)[1] for o in outputs if o.startswith(("secrete_", "keep_"))})
            code = spec.type_code[name]
            by_type[code] = [(f, f"secrete_{f}" in outputs, f"keep_{f}" in outputs) for f in fields
                             if f in config.fields]
            self.missing[code] = [f for f in fields if f not in config.fields]
        self.program = secretion_program(by_type)

    def apply(self, ctx, decisions) -> None:
        for code in decisions.order:
            if self.missing.get(code):
                field = self.missing[code][0]
                raise ConfigError(f"{self.config_source}: fields.{field}: a rule of the cell types present secretes "
                                  f"into it, but the config does not simulate it (add fields.{field}, or give the "
                                  f"rule a `when` that needs the field)")
        if self.program is None or not decisions.order:
            return
        xp, n = ctx.xp, ctx.agents.n
        available = {f"field_{name}": flat for name, flat in ctx.fields_flat.items()}
        arguments = [n, ctx.agents["cell_type"], ctx.agents["site"]]
        for name in self.program.arrays[3:]:
            arguments.append(available[name] if name.startswith("field_") else decisions.get(name, np.float32))
        launch_step_kernel(self.program, targets.target_of(xp), n, tuple(arguments), xp)
