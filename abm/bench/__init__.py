"""abm bench: performance benchmarks anyone can rerun; the numbers go to a JSON file and a plot.

Everything runs in one process on the backend at hand (--device auto|cpu|gpu), but for the
start-up figures, which time whole `abm` processes; nothing asserts on speed. Figures and units:

minimal    The minimal rules (configs/minimal_rules.yaml; ~22 % of sites hold a cell at any
           lattice size) on 100^2, 300^2 and 1000^2 sites (GPU: also 2048^2, 4096^2; --quick:
           100^2, 300^2). agent_steps_per_s: the live agents at the start of each timed step,
           summed over the timed steps, divided by their seconds (each model takes 2 untimed
           warm-up steps; fresh models are timed until 2 s are timed, at most 200 steps each);
           steps_per_s likewise.
           Mesa: benchmarks/mesa_reference.py (the same rules in plain Mesa, same config and initial
           positions) timed in the same process, up to 1000^2 sites (3 steps there);
           ratio_ours_over_mesa is ours / Mesa agent-steps per second.
diffusion  DiffusionOperator.step on one float32 field, 64^3 to 256^3 sites (GPU: to 512^3):
           voxel_updates_per_s = sites / seconds per step (median of the repeats). bytes_per_step
           follows a stated model: per axis sweep the forward pass reads and writes the field once
           and the backward pass once more, so 4 x 4 bytes x sites per axis; achieved_GB_per_s =
           bytes_per_step / seconds (1 GB = 1e9 B). On a GPU also the peak bandwidth
           (memoryClockRate x 2 x memoryBusWidth / 8) and the percentage of it achieved.
scenarios  steps_per_s of whole published scenarios (chan2020 organoid, correia2021 liver) at the
           config's own lattice and larger ones (sites x 2, x 4; GPU: also x 16, 64, 256; --quick:
           own size only), and the liver in 3D (64^3; GPU 128^3; --quick 32^3). Their placement
           counts do not all grow with the lattice, so the agents are reported.
phases     seconds per step of each method TissueModel.step calls (abm/bench/profile.py), and the
           whole step timed around model.step(), at the largest CPU size of the minimal rules and of
           the liver scenario.
memory     bytes per lattice site (occupancy, claim scratch, fields) and per agent (agent columns,
           per-step neighbour tables, category, local concentrations) from a built model's arrays;
           the process's peak RSS (and the CuPy memory pool on a GPU).
large      the liver scenario (3 fields, general step) on a 3D lattice with many cells: GPU 256^3
           with 1.1 M cells and 1024^3 with 101 M cells (the issue's goals); CPU 96^3 with 110,000;
           steps/s and memory per site and per agent; a run that does not fit the device is
           recorded with the model's reason (abm/bench/large.py).
startup    how soon the command line answers, as whole processes started by the bench: `abm --help`
           and `abm info RUN.h5` (start to exit), and `abm run configs/default.yaml` (start to the
           end of its first step); median and min seconds of 5 timed runs each (--quick 3), after
           one untimed (abm/bench/startup.py).
scaling    log-log slopes of seconds per step against sites (1: cost linear in the lattice), in the
           JSON and in the plot (abm/bench/report.py).

Default output: benchmarks/results/<date>-<device>-bench.json (--quick: ...-bench-quick.json) and
the plot beside it (.png). Other jobs on the machine make the numbers noisy: the load average at
the start and the end is recorded.
"""
from __future__ import annotations

SECTIONS = ("startup", "minimal", "diffusion", "scenarios", "phases", "memory", "large")

# The public names on first use (PEP 562): `abm --help` reads this docstring for `abm bench
# --help`, and must not import NumPy and the model to do so.
_LAZY = {"PHASES": ".profile", "PhaseTimer": ".profile", "Plan": ".measure", "make_plan": ".measure",
         "run_benchmark": ".suite", "run_from_args": ".suite"}

__all__ = ["PHASES", "SECTIONS", "PhaseTimer", "Plan", "make_plan", "run_benchmark", "run_from_args"]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
