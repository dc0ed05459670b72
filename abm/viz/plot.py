"""One figure of a run: lattice slice by cell type and state, each field, population time series."""
from __future__ import annotations

import numpy as np

from ..io.reader import Run

TYPE_COLOURS = {"tumor": ["#d62728", "#ff9896", "#8c564b"], "nk": ["#1f77b4", "#9edae5", "#17becf"]}
FALLBACK = ["#2ca02c", "#98df8a", "#bcbd22", "#9467bd", "#c5b0d5", "#7f7f7f"]


def slice_of(array, axis: int = 2, index: int | None = None):
    """2D arrays pass through; a 3D array gives the slice at index (default mid-plane) along axis."""
    if array.ndim == 2:
        return array
    index = array.shape[axis] // 2 if index is None else index
    return np.take(array, index, axis=axis)


def plot_run(path, out, step=None, axis=2, index=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    with Run(path) as run:
        snap = run.snapshot(step)
        series = run.timeseries()
        types, states = run.cell_types(), run.cell_states()
        dx = float(run.attrs["dx_um"])
        name = run.attrs.get("name", "")
        units = {fname: run.file["snapshots"][f"{snap['step']:08d}/fields/{fname}"].attrs.get("units", "")
                 for fname in snap["fields"]}

    # One colour per (type, state) pair present in the legend; 0 is empty tissue.
    categories, colours = [("empty", "")], ["#ffffff"]
    code = np.zeros(snap["cell_type"].shape, dtype=np.int16)
    for t_code, t_name in enumerate(types):
        palette = TYPE_COLOURS.get(t_name, FALLBACK)
        for s_code, s_name in enumerate(states[t_name]):
            categories.append((t_name, s_name))
            colours.append(palette[s_code % len(palette)])
            code[(snap["cell_type"] == t_code) & (snap["cell_state"] == s_code)] = len(categories) - 1
    lattice = slice_of(code, axis, index)

    n_fields = len(snap["fields"])
    fig, axes = plt.subplots(1, 2 + n_fields, figsize=(5.2 * (2 + n_fields), 4.8), constrained_layout=True)
    extent = [0, lattice.shape[1] * dx / 1000, 0, lattice.shape[0] * dx / 1000]
    ax = axes[0]
    ax.imshow(lattice, cmap=ListedColormap(colours), vmin=0, vmax=len(colours) - 1,
              interpolation="nearest", origin="lower", extent=extent)
    ax.set_title(f"{name}: cells at {snap['time_h']:.1f} h" + (" (mid-plane)" if code.ndim == 3 else ""))
    ax.set_xlabel("mm")
    ax.set_ylabel("mm")
    ax.legend(handles=[Patch(facecolor=c, edgecolor="k", label=" ".join(cat).strip())
                       for cat, c in zip(categories[1:], colours[1:])], loc="upper right", fontsize=8)

    for ax, (fname, values) in zip(axes[1:], snap["fields"].items()):
        image = ax.imshow(slice_of(values, axis, index), cmap="viridis", origin="lower", extent=extent)
        ax.set_title(f"{fname} at {snap['time_h']:.1f} h")
        ax.set_xlabel("mm")
        fig.colorbar(image, ax=ax, label=units.get(fname, ""), shrink=0.85)

    ax = axes[-1]
    for t_name in types:
        for s_name in states[t_name]:
            column = f"{t_name}.{s_name}"
            if column in series and series[column].max() > 0:
                ax.plot(series["time_h"], series[column], label=column)
    ax.axvline(snap["time_h"], color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("time (h)")
    ax.set_ylabel("cells")
    ax.set_title("population")
    ax.legend(fontsize=8)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
