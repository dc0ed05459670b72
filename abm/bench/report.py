"""Presentation of ``abm bench`` results: the printed table, log-log scaling slopes and the plot.

slope: the least-squares slope of log(seconds per step) against log(lattice sites). 1 means the
cost of a step grows linearly with the lattice (the target for large sizes); below 1, fixed
per-step overheads still dominate; above 1, something grows faster than the lattice (cache
misses, a quadratic term). slope_all fits every size of a series, slope_largest_pair only its two
largest sizes (the large-lattice behaviour). Minimal rules occupy a fixed fraction of sites, so
their agents grow with the lattice too; the scenarios keep their configured placement counts.

Also the lines ``abm bench`` prints as it goes (HEADERS, *_line, *_text).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

HEADERS = {
    "minimal": "\nminimal rules vs Mesa (agent-steps/s: live agents summed over the timed steps / seconds)\n"
               f"  {'lattice':>11} {'sites':>11} {'agents':>9} {'steps/s':>9} {'agent-steps/s':>14} "
               f"{'Mesa':>12} {'ours/Mesa':>9} {'best repeat':>12}",
    "diffusion": "\ndiffusion, one float32 field (voxel-updates/s = sites / s per step; 16 bytes per site per axis)\n"
                 f"  {'shape':>11} {'sites':>12} {'ms/step':>9} {'voxel-updates/s':>16} {'GB/s':>8} {'% peak':>7}",
    "scenarios": "\nscenarios (steps/s; placement counts as configured, so agents need not scale with sites)\n"
                 f"  {'scenario':>17} {'lattice':>11} {'sites':>11} {'agents':>8} {'steps':>6} {'steps/s':>9}",
    "startup": "\nstart-up, whole processes (seconds from the process's start; first_step: to the end of the first step)\n"
               f"  {'':>10} {'median s':>9} {'min s':>7} {'CPU s':>7} {'runs':>5}  command",
}


def shape_text(shape) -> str:
    return "x".join(str(n) for n in shape)


def _or_dash(value, spec: str, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}{spec}}"


def minimal_line(row: dict) -> str:
    mesa = row["mesa"]["agent_steps_per_s"] if row.get("mesa") else None
    return (f"  {shape_text(row['shape']):>11} {row['sites']:>11,} {row['agents']:>9,} "
            f"{row['steps_per_s']:9.3g} {row['agent_steps_per_s']:14.3e} {_or_dash(mesa, '.3e', 12)} "
            f"{_or_dash(row['ratio_ours_over_mesa'], '.2f', 9)} {_or_dash(row.get('best_agent_steps_per_s'), '.3e', 12)}")


def diffusion_line(row: dict) -> str:
    return (f"  {shape_text(row['shape']):>11} {row['sites']:>12,} {1e3 * row['seconds_per_step']:9.3f} "
            f"{row['voxel_updates_per_s']:16.3e} {row['achieved_GB_per_s']:8.2f} "
            f"{_or_dash(row['percent_of_peak'], '.1f', 7)}")


def scenario_line(row: dict) -> str:
    return (f"  {row['name']:>17} {shape_text(row['shape']):>11} {row['sites']:>11,} {row['agents']:>8,} "
            f"{row['steps']:>6} {row['steps_per_s']:9.3g}")


def startup_line(row: dict) -> str:
    return (f"  {row['name']:>10} {row['median_s']:9.3f} {row['min_s']:7.3f} {row['median_cpu_s']:7.3f} "
            f"{row['repeats']:>5}  {row['command']}")


def _parts(figures: dict) -> str:
    return ", ".join(f"{k} {v:.3g}" for k, v in figures.items() if k != "total" and isinstance(v, float | int))


def memory_text(m: dict) -> str:
    return (f"\nmemory, {m['name']} {shape_text(m['shape'])}: {m['per_site_bytes']['total']:.0f} B/site "
            f"({_parts(m['per_site_bytes'])}); {m['per_agent_bytes']['total']:.0f} B/agent "
            f"({_parts(m['per_agent_bytes'])}; {m['agents']:,} agents); peak RSS {m['peak_rss_bytes'] / 2**20:.0f} MiB")


def phases_text(p: dict) -> str:
    lines = [f"\nphases, {p['name']} {shape_text(p['shape'])} ({p['agents']:,} agents; "
             "ms per step, share of the step):"]
    lines += [f"  {name:>20} {1e3 * f['seconds_per_step']:10.3f} {100 * f['share_of_step']:6.1f} %"
              for name, f in p["phases"].items() if f["calls_per_step"]]
    lines.append(f"  {'sum of phases':>20} {1e3 * p['phases_sum_seconds']:10.3f}   whole step, timed around "
                 f"model.step(): {1e3 * p['step_seconds']:.3f}")
    return "\n".join(lines)


def scaling_text(fits: dict) -> str:
    lines = ["\nscaling: log-log slope of seconds per step against sites (1 = linear), largest pair / all sizes"]
    lines += [f"  {name:>24}: {format_slope(fit['slope_largest_pair']):>5} / {format_slope(fit['slope_all']):>5} "
              f"({fit['points']} sizes, {fit['sites'][0]:,} to {fit['sites'][-1]:,} sites)"
              for name, fit in fits.items()]
    return "\n".join(lines)


def _slope(sites, seconds) -> float | None:
    if len(set(sites)) < 2:
        return None
    return float(np.polyfit(np.log(sites), np.log(seconds), 1)[0])


def scaling_series(results: dict) -> dict[str, dict]:
    """Series name -> {"sites": [...], "seconds_per_step": [...], "label": what one step is}."""
    series: dict[str, dict] = {}

    def add(name, label, rows, seconds):
        rows = sorted(rows, key=lambda row: row["sites"])
        if rows:
            series[name] = {"label": label, "sites": [row["sites"] for row in rows],
                            "seconds_per_step": [seconds(row) for row in rows]}

    minimal = results.get("minimal", {}).get("rows", [])
    add("minimal rules", "model step", minimal, lambda row: row["seconds_per_step"])
    add("minimal rules (Mesa)", "Mesa model step",
        [row for row in minimal if (row.get("mesa") or {}).get("seconds") and row["mesa"].get("steps")],
        lambda row: row["mesa"]["seconds"] / row["mesa"]["steps"])
    add("diffusion", "one field, one step", results.get("diffusion", {}).get("rows", []),
        lambda row: row["seconds_per_step"])
    scenario_rows = results.get("scenarios", {}).get("rows", [])
    for name in dict.fromkeys(row["name"] for row in scenario_rows):
        for ndim in (2, 3):
            rows = [row for row in scenario_rows if row["name"] == name and row["ndim"] == ndim]
            add(f"{name} {ndim}D", "model step", rows, lambda row: row["seconds_per_step"])
    return series


def scaling_slopes(results: dict) -> dict[str, dict]:
    """Series name -> sites, seconds per step and the fitted log-log slopes (None with one size)."""
    fits = {}
    for name, data in scaling_series(results).items():
        sites, seconds = data["sites"], data["seconds_per_step"]
        fits[name] = {**data, "points": len(sites), "slope_all": _slope(sites, seconds),
                      "slope_largest_pair": _slope(sites[-2:], seconds[-2:])}
    return fits


def format_slope(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def plot_scaling(results: dict, path: str | Path) -> bool:
    """Log-log PNG: steps/s against sites (model runs), voxel-updates/s against sites (diffusion).

    Dotted guides show linear cost through each series' largest size. False if there is nothing
    to draw or matplotlib is missing.
    """
    fits = results.get("scaling") or scaling_slopes(results)
    if not fits:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, (models, diffusion) = plt.subplots(1, 2, figsize=(12, 5))
    for name, fit in fits.items():
        sites = np.asarray(fit["sites"], dtype=float)
        seconds = np.asarray(fit["seconds_per_step"], dtype=float)
        axes = diffusion if name == "diffusion" else models
        rate = sites / seconds if name == "diffusion" else 1.0 / seconds
        label = name if fit["slope_all"] is None else f"{name} (s/step ~ sites^{format_slope(fit['slope_all'])})"
        line, = axes.plot(sites, rate, marker="o" if len(sites) > 1 else "s",
                          linestyle="--" if "Mesa" in name else "-", label=label)
        if len(sites) > 1:  # linear cost through the largest size: constant for updates/s, 1/sites for steps/s
            guide = np.full_like(sites, rate[-1]) if name == "diffusion" else rate[-1] * sites[-1] / sites
            axes.plot(sites, guide, ":", color=line.get_color(), alpha=0.6)
    models.set(xscale="log", yscale="log", xlabel="lattice sites", ylabel="steps per second",
               title="model steps/s (dotted: linear cost)")
    diffusion.set(xscale="log", yscale="log", xlabel="lattice sites (3D cubes)", ylabel="voxel updates per second",
                  title="diffusion, one float32 field (dotted: linear cost)")
    rates = [y for line in diffusion.lines for y in line.get_ydata()]
    if rates and max(rates) < 10 * min(rates):  # show at least two decades: small wiggles look small
        middle = (max(rates) * min(rates)) ** 0.5
        diffusion.set_ylim(middle / 10, middle * 10)
    for axes in (models, diffusion):
        axes.grid(True, which="both", alpha=0.3)
        if axes.lines:
            axes.legend(fontsize=8)
    host = results.get("host", {})
    figure.suptitle(f"abm bench {results.get('date', '')[:10]}: {results.get('backend', '')}; "
                    f"{host.get('cpu', '?')}, {host.get('cores', '?')} cores", fontsize=10)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path.stat().st_size > 0
