"""One study's sensitivity analysis, from its factors to its report (runs/sensitivity/<study>/):
what it measures are the criteria of configs/criteria/<study>.yaml (readouts.py)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..config.sections import load_config
from ..errors import ConfigError
from ..validate.studies import STUDIES, config_path
from . import conclusions, design, execute, factors, readouts


@dataclass
class Options:
    method: str = "morris"
    size: int = 4  # Morris trajectories, or Sobol N
    range_factor: float = 2.0
    seeds: int = 2
    quick: bool = False
    only: tuple[str, ...] = ()  # vary only these factors (keys); () = every factor
    device: str = "cpu"
    out: Path = Path("runs/sensitivity")


@dataclass
class Analysis:
    study: str
    options: Options
    selection: factors.Selection
    arms: dict  # {arm: keys it sets}
    X: np.ndarray  # the sample (log values)
    design: pd.DataFrame
    readouts: pd.DataFrame  # one column per criterion id: its effect at each point
    indices: pd.DataFrame
    verdicts: list
    failures: list[str] = field(default_factory=list)
    n_runs: int = 0
    wall_s: float = 0.0

    @property
    def folder(self) -> Path:
        return Path(self.options.out) / self.study


def prepare(name: str, options: Options):
    """(scenario path, criteria screened, arms {arm: keys it sets}, quick overrides, selection)."""
    if name not in STUDIES:
        raise ConfigError(f"sensitivity: unknown study {name!r} (studies: {', '.join(STUDIES)})")
    path = config_path(STUDIES[name])
    config = load_config(path, check_sources=False)[0]
    criteria = readouts.screened_criteria(name)
    arms = {arm: set(config.arms[arm]) for arm in readouts.needed_arms(criteria)}
    quick = dict(config.validation.quick_overrides) if options.quick else {}
    selection = factors.select(path, list(arms), quick, options.range_factor)
    if options.only:
        known = {f.key for f in selection.factors}
        unknown = [key for key in options.only if key not in known]
        if unknown:
            raise ConfigError(f"--only {unknown[0]}: not a factor of {name} (factors: {', '.join(sorted(known))})")
        selection = replace(selection, factors=[f for f in selection.factors if f.key in options.only])
    return path, criteria, arms, quick, selection


def judge_all(criteria, effects: pd.DataFrame, holds: pd.DataFrame, scales: dict, indices: pd.DataFrame,
              design_values: pd.DataFrame, selection) -> list:
    nominal = {f.key: f.value for f in selection.factors}
    verdicts = []
    for c in criteria:
        verdict = conclusions.judge(c, holds[c.id].to_numpy(float), scales[c.id], readouts.claimed_side(c))
        verdicts.append(conclusions.explain(verdict, indices, design_values, nominal, effects[c.id].to_numpy(float)))
    return verdicts


def analyse(name: str, options: Options, engine, log=print, progress: bool = False) -> Analysis:
    """Sample, run (resuming), read out, index and judge one study."""
    start = time.perf_counter()
    path, criteria, arms, quick, selection = prepare(name, options)
    if not selection.factors:
        raise ConfigError(f"sensitivity: {name}: no factor to vary")
    X = design.sample(selection.factors, options.method, options.size)
    design_values = design.design_table(selection.factors, X)
    points = [design.point_values(selection.factors, row) for row in X]
    folder = Path(options.out) / name
    tasks = execute.plan(name, arms, points, options.seeds, options.quick, folder, options.device)
    log(f"abm: sensitivity {name}: {len(selection.factors)} factors, {len(points)} points x {len(arms)} arms x "
        f"{options.seeds} seeds = {len(tasks)} runs")
    results, failures = execute.execute(tasks, engine, log=log, progress=progress)
    runs_by_point = execute.by_point(results, len(points), list(arms), options.seeds)
    effects, holds, scales = readouts.measure_design(criteria, runs_by_point)
    indices = design.indices(options.method, selection.factors, X, effects)
    verdicts = judge_all(criteria, effects, holds, scales, indices, design_values, selection)
    return Analysis(name, options, selection, arms, X, design_values, effects, indices, verdicts, failures,
                    len(tasks), time.perf_counter() - start)
