"""Where a step's time and memory go: time per phase of TissueModel.step, bytes per site and agent.

Phases: the methods listed in PHASES, plus any other method step() calls as self.NAME(...) (found
in its source: a subclass's own phase, say), are wrapped on one model instance; each wrapper reads a
clock before and after the call (on a GPU after synchronising) and keeps exclusive time, so a
phase called from inside another counts once and the phases add up to the step. The whole step is
timed separately around model.step(); unaccounted_seconds is the difference (Mesa's step wrapper,
the calls between phases).
"""
from __future__ import annotations

import ast
import inspect
import os
import resource
import textwrap
from pathlib import Path
from time import perf_counter

import numpy as np

from . import report
from .measure import (MINIMAL, PHASE_SCENARIO, WARMUP_STEPS, Plan, build_model, prime, scenario_shapes,
                      sites_of, synchronise)

PHASES = ("intervene", "secrete_and_uptake", "diffuse", "sense", "decide", "resolve", "remove", "collect")


def _rss_bytes() -> int:
    """Current resident set size of this process (bytes), from /proc; 0 where unavailable."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (bytes; ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def step_phases(model) -> list[str]:
    """Methods that type(model).step calls as self.NAME(...), in order, then the PHASES not among them."""
    calls = []
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(type(model).step)))
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                 and isinstance(node.func.value, ast.Name) and node.func.value.id == "self"]
    except (OSError, TypeError, SyntaxError):  # no source at hand: the listed phases only
        pass
    names = [call.func.attr for call in sorted(calls, key=lambda call: (call.lineno, call.col_offset))]
    return [n for n in dict.fromkeys(names + list(PHASES)) if n != "step" and callable(getattr(model, n, None))]


class PhaseTimer:
    """Wraps bound methods of one model instance; seconds[name] is exclusive time (nested calls excluded).

    sync() runs before each clock read (GPU: wait for the queued kernels). remove() unwraps.
    """

    def __init__(self, model, names, sync=lambda: None):
        self.model, self.sync, self._stack = model, sync, []
        self.seconds = dict.fromkeys(names, 0.0)
        self.calls = dict.fromkeys(names, 0)
        self._own = {name: model.__dict__[name] for name in names if name in model.__dict__}  # instance attributes
        for name in names:
            setattr(model, name, self._wrap(name, getattr(model, name)))

    def _wrap(self, name, method):
        def timed(*args, **kwargs):
            self.sync()
            self._stack.append(0.0)
            start = perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.sync()
                elapsed = perf_counter() - start
                self.seconds[name] += elapsed - self._stack.pop()
                self.calls[name] += 1
                if self._stack:
                    self._stack[-1] += elapsed
        return timed

    def remove(self) -> None:
        for name in self.seconds:
            self.model.__dict__.pop(name, None)
        self.model.__dict__.update(self._own)


def time_phases(model, steps: int) -> dict:
    """Per phase: seconds per step and share of the step; total measured around model.step()."""
    xp = model.xp
    model.run(WARMUP_STEPS)
    timer = PhaseTimer(model, step_phases(model), sync=lambda: synchronise(xp))
    total = 0.0
    try:
        for _ in range(steps):
            synchronise(xp)
            start = perf_counter()
            model.step()
            synchronise(xp)
            total += perf_counter() - start
    finally:
        timer.remove()
    phases = {name: {"seconds_per_step": seconds / steps, "calls_per_step": timer.calls[name] / steps,
                     "share_of_step": seconds / total}
              for name, seconds in timer.seconds.items()}
    phase_sum = sum(timer.seconds.values())
    return {"steps": steps, "agents": model.n_cells, "step_seconds": total / steps, "phases": phases,
            "phases_sum_seconds": phase_sum / steps, "unaccounted_seconds": (total - phase_sum) / steps}


# ---------------------------------------------------------------------- memory


def memory_report(model, rss_increase: int | None = None) -> dict:
    """Bytes per lattice site and per agent, from the model's own arrays.

    per_site_bytes: occupancy, claim scratch and all fields, divided by the sites (resident).
    per_agent_bytes: columns = the agent table's itemsizes summed (resident, times the spare
    capacity); neighbour_tables, category, local_concentrations = the temporaries of one sense()
    (the general step's per-step tables) divided by the live agents. rss_increase_building_bytes:
    growth of the process's resident memory while the model was built.
    """
    n_sites, cells = model.lattice.n_sites, model.cells
    fields = {name: int(a.nbytes) for name, a in model.fields.items()}
    site = {"occupancy": model.lattice.occupancy.nbytes / n_sites,
            "claim_scratch": model._claim_scratch.nbytes / n_sites,
            "fields": sum(fields.values()) / n_sites}
    agent = {"columns": sum(int(c.dtype.itemsize) for c in cells.columns.values())}
    n = max(cells.n, 1)
    try:
        context = model.sense()
        agent["neighbour_tables"] = (context.neighbour_counts.nbytes + context.neighbour_masks.nbytes) / n
        agent["category"] = context.category.nbytes / n
        agent["local_concentrations"] = sum(int(a.nbytes) for a in context.local_concentration.values()) / n
    except Exception as error:  # noqa: BLE001 - a model without sense(): columns only
        agent["neighbour_tables_unavailable"] = str(error)
    figures = {"sites": n_sites, "agents": cells.n, "agent_capacity": cells.capacity,
               "per_site_bytes": {**site, "total": sum(site.values())}, "fields_bytes": fields,
               "per_agent_bytes": {**agent, "total": sum(v for v in agent.values() if isinstance(v, float | int))},
               "agent_columns_allocated_bytes": sum(int(c.nbytes) for c in cells.columns.values()),
               "rss_increase_building_bytes": rss_increase, "peak_rss_bytes": peak_rss_bytes()}
    if model.xp is not np:
        pool = model.xp.get_default_memory_pool()
        figures["gpu_pool_used_bytes"], figures["gpu_pool_total_bytes"] = pool.used_bytes(), pool.total_bytes()
    return figures


def bench_phases_and_memory(plan: Plan, device: str, sections, log) -> tuple[list, list]:
    """Profile the minimal rules and the liver scenario at their largest CPU sizes."""
    minimal_shape = max((s for s in plan.minimal_shapes if sites_of(s) <= 1_000_000), key=sites_of)
    scenario_shape = scenario_shapes(PHASE_SCENARIO, [max(f for f in plan.scenario_factors if f <= 4)])[0]
    phases, memory = [], []
    for config, shape in ((MINIMAL, minimal_shape), (PHASE_SCENARIO, scenario_shape)):
        prime(config, device)
        rss = _rss_bytes()
        model = build_model(config, shape, device)
        base = {"config": config, "name": Path(config).stem, "shape": list(shape)}
        if "memory" in sections:
            memory.append({**base, **memory_report(model, _rss_bytes() - rss if rss else None)})
            log(report.memory_text(memory[-1]))
        if "phases" in sections:
            phases.append({**base, **time_phases(model, plan.phase_steps)})
            log(report.phases_text(phases[-1]))
        del model
    return phases, memory
