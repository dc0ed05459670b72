"""Mesa reference: the minimal lattice rules as a plain Mesa 3 model.

What it is
    An independent, deliberately ordinary implementation of the project's *minimal rules*
    (``configs/minimal_rules.yaml``) with Mesa's own building blocks: ``mesa.Model``, an
    ``OrthogonalMooreGrid`` (capacity 1, walls), ``CellAgent`` subclasses, ``shuffle_do("step")``
    and a ``DataCollector``. It serves two purposes:

    1. a statistical check of ``abm.TissueModel``: with the same config and the same initial
       positions (``abm.core.placement.place_all``: same seed, same sites), the mean tumor count over
       seeds must agree with ours within 10 % at every 10th step (``compare``);
    2. the speed baseline of ``abm bench``: agent-steps per second that a Mesa user gets for
       this workload (``agent_steps_per_second``), measured in the same process as ours.

The rules (dt = 6 min; Moore neighbourhood, 8 neighbours, no wrap-around; one cell per site)
    Tumor cell, each step: dies with p_die = 1 - exp(-death_rate_per_h * dt / 60) and is removed
    at once; otherwise, with p_div = 1 - exp(-division_rate_per_h * dt / 60), divides into a
    uniformly chosen free neighbouring site (none free: no division). The daughter is a new
    tumor cell (it first acts in the next step).
    NK cell, each step: if it touches at least one tumor cell it picks one uniformly and kills it
    with probability kill_probability_per_contact (removed at once). Then, whether or not it
    attacked, with p_move = 1 - exp(-move_rate_per_h * dt / 60) it moves into a uniformly chosen
    free neighbouring site (if any).
    These are the rules of abm/cells/tumor.py and abm/cells/nk.py with the minimal config's
    defaults: no caspase+ delay, no conjugation time, no fields, no ligand or receptor effects,
    no anoikis, no NK birth or death. A config that switches on any other mechanism is refused.

How the two models differ
    Ours is synchronous: every cell decides from the same snapshot of the tissue and conflicts
    over a site (two cells claiming it) are resolved afterwards by a random priority; a cell
    killed in a step does not divide in that step, and a site freed in a step is free only from
    the next one. Mesa's ``shuffle_do`` is sequential in a random order: each agent sees the
    changes made by the agents that acted before it (a site just freed by a kill or a move can
    be taken at once; a second claimant finds the site taken and picks another). At these rates
    (p_div ~ 0.0035, p_die ~ 0.001, kill p 0.05 per step) Mesa's mean tumor count runs about
    1-2 % above ours after 100-200 steps (30 seeds, 100 x 100: at most 2.1 %, standard error
    0.8 %), well below the 10 % criterion.

How to run
    python benchmarks/mesa_reference.py compare --seeds 30 --steps 200 [--shape 100 100]
        mean tumor count of ours and of Mesa every 10th step; exit status 1 if any relative
        difference exceeds --tolerance (0.10).
    python benchmarks/mesa_reference.py speed --shape 100 100 --steps 20
        Mesa agent-steps per second (agents alive at the start of each timed step, summed).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import mesa
import numpy as np
from mesa.discrete_space import CellAgent, OrthogonalMooreGrid, OrthogonalVonNeumannGrid

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from abm.config.sections import Config, load_config  # noqa: E402
from abm.core.placement import place_all  # noqa: E402

DEFAULT_CONFIG = ROOT / "configs" / "minimal_rules.yaml"
TOLERANCE = 0.10  # relative difference of the mean tumor count allowed at every 10th step

# Mechanisms the reference does not implement: each must be 0 (off) in the config.
_MUST_BE_OFF = {
    "tumor": ("isolated_death_rate_per_h", "caspase_duration_min", "leader_rate_per_h", "invasive_move_rate_per_h",
              "motility_rate_per_h", "dormancy_entry_rate_per_h", "cytokine_division_boost",
              "activating_ligand_cluster_loss", "inhibitory_ligand_single", "inhibitory_ligand_cluster_gain",
              "exposed_nk_division_boost_per_h"),
    "nk": ("conjugation_time_min", "max_kills", "inhibitory_receptor_gain_per_contact",
           "initial_inhibitory_receptors", "proliferation_rate_per_h", "death_rate_per_h"),
}


def step_probability(rate_per_h: float, dt_min: float) -> float:
    """Chance of an event of constant rate within one step: 1 - exp(-rate * dt)."""
    return float(-math.expm1(-rate_per_h * dt_min / 60.0))


def check_minimal(config: Config, source: str = "<config>") -> None:
    """Refuse a config that uses a mechanism beyond the minimal rules."""
    problems = []
    for cell_type, keys in _MUST_BE_OFF.items():
        section = getattr(config.cells, cell_type)
        problems += [f"cells.{cell_type}.{key}" for key in keys if getattr(section, key)]
    problems += [f"fields.{name}" for name in config.fields]
    if any(switch is not None for _, switch in config.interventions):
        problems.append("interventions")
    problems += [f"placement of {entry.cell_type}" for entry in config.placement
                 if entry.cell_type not in ("tumor", "nk") or getattr(entry, "escorts_per_cluster", 0)]
    if problems:
        raise ValueError(f"{source}: the Mesa reference implements only the minimal rules; "
                         f"not supported: {', '.join(problems)}")


class TumorCell(CellAgent):
    """Dies, or divides into a free neighbouring site."""

    def __init__(self, model: "MesaMinimalModel", cell) -> None:
        super().__init__(model)
        self.cell = cell

    def step(self) -> None:
        if self.cell is None:  # killed earlier in this step
            return
        model = self.model
        if self.random.random() < model.p_die:
            self.remove()
            return
        if self.random.random() < model.p_div:
            free = self.cell.neighborhood.select(lambda cell: cell.is_empty)
            if len(free) > 0:
                TumorCell(model, free.select_random_cell())


class NKCell(CellAgent):
    """Kills a touching tumor cell, then random-walks."""

    def __init__(self, model: "MesaMinimalModel", cell) -> None:
        super().__init__(model)
        self.cell = cell

    def step(self) -> None:
        model = self.model
        targets = [agent for agent in self.cell.neighborhood.agents if isinstance(agent, TumorCell)]
        if targets:
            target = self.random.choice(targets)
            if self.random.random() < model.kill_probability:
                target.remove()
        if self.random.random() < model.p_move:
            free = self.cell.neighborhood.select(lambda cell: cell.is_empty)
            if len(free) > 0:
                self.move_to(free.select_random_cell())


class MesaMinimalModel(mesa.Model):
    """The minimal rules in Mesa: ``MesaMinimalModel(config_path_or_Config, seed, overrides=None)``.

    Initial positions are those of our placement (``abm.core.placement.place_all(config, seed)``), so
    for a given seed both models start from the same tissue.
    """

    def __init__(self, config: str | Path | dict | Config = DEFAULT_CONFIG, seed: int | None = None,
                 overrides: dict | None = None) -> None:
        if isinstance(config, Path):
            config = str(config)
        self.config, source = load_config(config, overrides)
        check_minimal(self.config, source)
        seed = int(self.config.seed if seed is None else seed)
        super().__init__(seed=seed)
        self.seed_value = seed

        cells, dt_min = self.config.cells, self.config.time.dt_min
        self.p_die = step_probability(cells.tumor.death_rate_per_h, dt_min)
        self.p_div = step_probability(cells.tumor.division_rate_per_h, dt_min)
        self.p_move = step_probability(cells.nk.move_rate_per_h, dt_min)
        self.kill_probability = cells.nk.kill_probability_per_contact

        shape = tuple(self.config.lattice.shape)
        grid_class = OrthogonalMooreGrid if self.config.lattice.neighbourhood == "moore" else OrthogonalVonNeumannGrid
        self.grid = grid_class(shape, torus=False, capacity=1, random=self.random)
        agent_class = {"tumor": TumorCell, "nk": NKCell}
        for cell_type, sites in place_all(self.config, seed):
            for coordinate in zip(*np.unravel_index(np.asarray(sites, dtype=np.int64), shape)):
                agent_class[cell_type](self, self.grid[tuple(int(c) for c in coordinate)])

        self.datacollector = mesa.DataCollector(
            model_reporters={"tumor": lambda m: m.count(TumorCell), "nk": lambda m: m.count(NKCell)})
        self.datacollector.collect(self)

    def count(self, agent_class) -> int:
        agents = self.agents_by_type.get(agent_class)
        return 0 if agents is None else len(agents)

    def step(self) -> None:
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)


# ---------------------------------------------------------------------- runs and comparison


def run_counts(config=DEFAULT_CONFIG, seed: int = 1, steps: int = 200, overrides: dict | None = None) -> np.ndarray:
    """Tumor count of the Mesa model at the start and after each step (length steps + 1)."""
    model = MesaMinimalModel(config, seed, overrides)
    for _ in range(steps):
        model.step()
    return model.datacollector.get_model_vars_dataframe()["tumor"].to_numpy(dtype=np.int64)


def our_counts(config=DEFAULT_CONFIG, seed: int = 1, steps: int = 200, overrides: dict | None = None) -> np.ndarray:
    """Tumor count of abm.TissueModel (CPU) at the start and after each step (length steps + 1)."""
    from abm import TissueModel

    if isinstance(config, Path):
        config = str(config)
    model = TissueModel(config, device="cpu", seed=seed, overrides=overrides)
    counts = [model.count("tumor")]
    for _ in range(steps):
        model.step()
        counts.append(model.count("tumor"))
    return np.asarray(counts, dtype=np.int64)


def _mean_and_se(runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = runs.mean(axis=0)
    se = runs.std(axis=0, ddof=1) / math.sqrt(runs.shape[0]) if runs.shape[0] > 1 else np.zeros_like(mean)
    return mean, se


def compare_counts(ours: np.ndarray, theirs: np.ndarray, every: int = 10, tolerance: float = TOLERANCE) -> dict:
    """Compare tumor-count runs (seeds x steps+1 arrays) of ours and of Mesa at every `every`-th step.

    The relative difference is |mean_mesa - mean_ours| / mean_ours; its standard error (the two
    sets of runs taken as independent) shows how much of it sampling noise can explain.
    """
    steps = ours.shape[1] - 1
    at = np.arange(0, steps + 1, every)
    ours_mean, ours_se = _mean_and_se(ours[:, at].astype(float))
    mesa_mean, mesa_se = _mean_and_se(theirs[:, at].astype(float))
    relative = np.abs(mesa_mean - ours_mean) / np.maximum(ours_mean, 1.0)
    relative_se = np.sqrt(ours_se ** 2 + mesa_se ** 2) / np.maximum(ours_mean, 1.0)
    return {"steps": at, "ours_mean": ours_mean, "ours_se": ours_se, "mesa_mean": mesa_mean, "mesa_se": mesa_se,
            "relative_difference": relative, "relative_se": relative_se,
            "max_relative_difference": float(relative.max()), "max_relative_se": float(relative_se.max()),
            "tolerance": tolerance, "agree": bool((relative <= tolerance).all()), "n_seeds": ours.shape[0]}


def compare(config=DEFAULT_CONFIG, seeds=range(1, 31), steps: int = 200, overrides: dict | None = None,
            mesa_overrides: dict | None = None, every: int = 10, tolerance: float = TOLERANCE) -> dict:
    """Mean tumor count over seeds, ours against Mesa, at every `every`-th step.

    overrides apply to both models; mesa_overrides (on top) to Mesa only (a deliberately
    different run, to show the check can fail). Returns compare_counts's table and verdict, and
    the run times of both.
    """
    seeds = list(seeds)
    start = time.perf_counter()
    ours = np.stack([our_counts(config, s, steps, overrides) for s in seeds])
    ours_seconds = time.perf_counter() - start
    start = time.perf_counter()
    theirs = np.stack([run_counts(config, s, steps, {**(overrides or {}), **(mesa_overrides or {})})
                       for s in seeds])
    mesa_seconds = time.perf_counter() - start
    return {**compare_counts(ours, theirs, every, tolerance), "ours_seconds": ours_seconds,
            "mesa_seconds": mesa_seconds}


def format_comparison(result: dict) -> str:
    lines = [f"{'step':>5} {'ours':>10} {'+-se':>7} {'mesa':>10} {'+-se':>7} {'rel.diff':>9}"]
    for i, step in enumerate(result["steps"]):
        lines.append(f"{int(step):5d} {result['ours_mean'][i]:10.1f} {result['ours_se'][i]:7.1f} "
                     f"{result['mesa_mean'][i]:10.1f} {result['mesa_se'][i]:7.1f} "
                     f"{100 * result['relative_difference'][i]:8.2f}%")
    lines.append(f"max relative difference {100 * result['max_relative_difference']:.2f}% "
                 f"(its standard error up to {100 * result['max_relative_se']:.2f}%; tolerance "
                 f"{100 * result['tolerance']:g}%) over {result['n_seeds']} seeds: "
                 f"{'AGREE' if result['agree'] else 'DIFFER'}")
    if "ours_seconds" in result:
        lines.append(f"run time: ours {result['ours_seconds']:.1f} s, mesa {result['mesa_seconds']:.1f} s")
    return "\n".join(lines)


# ---------------------------------------------------------------------- speed


def agent_steps_per_second(shape=(100, 100), steps: int = 20, seed: int = 1, min_seconds: float = 1.0,
                           config=DEFAULT_CONFIG, warmup_steps: int = 1) -> dict:
    """Mesa's throughput on the minimal rules: agent-steps per second over `steps` timed steps.

    Agent-steps: the agents alive at the start of each timed step, summed. If the `steps` steps
    take less than min_seconds, stepping goes on until min_seconds have passed (all counted).
    Not timed: building the model (grid and placement; build_seconds) and `warmup_steps` steps
    (Mesa builds each cell's neighbourhood on first use and caches it).
    """
    shape = [int(n) for n in shape]
    start = time.perf_counter()
    model = MesaMinimalModel(config, seed, {"lattice.shape": shape})
    build_seconds = time.perf_counter() - start
    for _ in range(warmup_steps):
        model.step()
    agents_at_start = len(model.agents)
    agent_steps, done = 0, 0
    start = time.perf_counter()
    while done < steps or time.perf_counter() - start < min_seconds:
        agent_steps += len(model.agents)
        model.step()
        done += 1
    seconds = time.perf_counter() - start
    return {"shape": shape, "sites": math.prod(shape), "agents": agents_at_start, "steps": done,
            "seconds": seconds, "agent_steps_per_s": agent_steps / seconds if seconds > 0 else float("nan"),
            "build_seconds": build_seconds, "mesa_version": mesa.__version__}


# ---------------------------------------------------------------------- command line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("compare", help="mean tumor counts of ours and of Mesa over seeds")
    check.add_argument("--config", default=str(DEFAULT_CONFIG))
    check.add_argument("--seeds", type=int, default=30, help="number of seeds (1..N)")
    check.add_argument("--steps", type=int, default=200)
    check.add_argument("--shape", type=int, nargs="+", help="lattice shape (default: the config's)")
    check.add_argument("--every", type=int, default=10)
    check.add_argument("--tolerance", type=float, default=TOLERANCE)
    speed = commands.add_parser("speed", help="Mesa agent-steps per second")
    speed.add_argument("--config", default=str(DEFAULT_CONFIG))
    speed.add_argument("--shape", type=int, nargs="+", default=[100, 100])
    speed.add_argument("--steps", type=int, default=20)
    speed.add_argument("--seed", type=int, default=1)
    speed.add_argument("--min-seconds", type=float, default=1.0)
    speed.add_argument("--warmup-steps", type=int, default=1)
    args = parser.parse_args(argv)

    if args.command == "compare":
        overrides = {"lattice.shape": args.shape} if args.shape else None
        result = compare(args.config, range(1, args.seeds + 1), args.steps, overrides, every=args.every,
                         tolerance=args.tolerance)
        print(format_comparison(result))
        return 0 if result["agree"] else 1
    result = agent_steps_per_second(args.shape, args.steps, args.seed, args.min_seconds, args.config,
                                    args.warmup_steps)
    print(f"mesa {result['mesa_version']}: {'x'.join(map(str, result['shape']))} lattice, {result['agents']} agents, "
          f"{result['steps']} steps in {result['seconds']:.2f} s (build {result['build_seconds']:.2f} s): "
          f"{result['agent_steps_per_s']:,.0f} agent-steps/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
