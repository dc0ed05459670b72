"""A run as a movie: the lattice slice (and optionally one field) at every snapshot.

`abm movie RUN.h5 [--out FILE.gif|FILE.mp4] [--field NAME] [--fps N]`. GIF is written with
Pillow (a matplotlib dependency); MP4 needs an ffmpeg executable: on the PATH, or the one that
the `imageio-ffmpeg` package ships (`pip install 'tissue-abm[movie]'`).
"""
from __future__ import annotations

from pathlib import Path

from ..errors import OutputError
from ..io.reader import Run
from .plot import CellMarkers, Categories, draw_plane, field_panel, field_title, field_top, plain_series, plane_label

MAX_FRAMES = 2000


def _ffmpeg_path() -> str | None:
    import shutil

    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


def _writer(out: Path, fps: float):
    from matplotlib import animation, rcParams

    suffix = out.suffix.lower()
    if suffix == ".gif":
        return animation.PillowWriter(fps=fps)
    if suffix == ".mp4":
        ffmpeg = _ffmpeg_path()
        if ffmpeg is None:
            raise OutputError(f"{out}: MP4 needs ffmpeg: pip install 'tissue-abm[movie]' (imageio-ffmpeg), "
                              "or write a .gif")
        rcParams["animation.ffmpeg_path"] = ffmpeg
        return animation.FFMpegWriter(fps=fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"])
    raise OutputError(f"{out}: movie must end in .gif or .mp4")


def _read_frames(path, field, axis, index):
    with Run(path) as run:
        steps = run.snapshot_steps
        if not steps:
            raise OutputError(f"{path}: run has no snapshots")
        if len(steps) > MAX_FRAMES:
            steps = steps[:: -(-len(steps) // MAX_FRAMES)]
        frames = [run.snapshot_slice(step, axis, index) for step in steps]
        if field is not None and field not in frames[-1]["fields"]:
            names = ", ".join(frames[-1]["fields"]) or "none"
            raise OutputError(f"--field {field}: no such field in {path} (fields: {names})")
        series = plain_series(run.timeseries())
        return frames, run.cell_types, run.cell_states, run.lattice_shape, run.attrs, series


def make_movie(path, out, field: str | None = None, fps: float = 5.0, axis: int = 2,
               index: int | None = None, dpi: int = 100) -> int:
    """Write the movie; returns the number of frames."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    out = Path(out)
    if not fps > 0:
        raise OutputError(f"--fps {fps}: must be positive")
    writer = _writer(out, fps)
    frames, types, states, shape, attrs, series = _read_frames(path, field, axis, index)
    dx, ndim = float(attrs["dx_um"]), len(shape)
    cats = Categories.of(types, states)
    seen = [i for i, (t, s) in enumerate(cats.pairs) if f"{t}.{s}" in series and series[f"{t}.{s}"].max() > 0]

    n_panels = 2 if field else 1
    fig, axes = plt.subplots(1, n_panels, figsize=(5.4 * n_panels + 1.4, 5.0), dpi=dpi, layout="constrained",
                             squeeze=False)
    first = frames[0]
    where = plane_label(ndim, first["axis"], first["index"], shape)
    ax = axes[0, 0]
    cells = draw_plane(ax, cats.codes(first["cell_type"], first["cell_state"]), dx, ndim, first["axis"],
                       cmap=cats.colormap(), vmin=-0.5, vmax=len(cats.pairs) + 0.5)
    ax.set_title("cells" + (f", {where}" if where else ""))
    ax.legend(handles=[Patch(facecolor=cats.colours[i], edgecolor="0.3", label=cats.label(i)) for i in seen],
              loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False, borderaxespad=0)
    heat = None
    if field:
        top = max(field_top(f["fields"][field]) for f in frames)  # one scale for every frame
        ax = axes[0, 1]
        ax.set_title(field + (f", {where}" if where else ""))
        heat = field_panel(fig, ax, first["fields"][field], top, dx, ndim, first["axis"],
                           field_title(field, first["units"].get(field, "")))
    title = fig.suptitle(" ", fontsize=13)
    fig.canvas.draw()
    fig.set_layout_engine("none")  # freeze the layout: frames must not jitter
    markers = CellMarkers(axes[0, 0], first["cell_type"].shape[0], dx, cats.colours, dpi)

    name = attrs.get("name", "")
    try:
        with writer.saving(fig, str(out), dpi):
            for frame in frames:
                codes = cats.codes(frame["cell_type"], frame["cell_state"])
                cells.set_data(codes.T)
                markers.update(codes)
                if heat is not None:
                    heat.set_data(frame["fields"][field].T)
                title.set_text(f"{name}:  t = {frame['time_h']:.1f} h  (step {frame['step']})")
                writer.grab_frame()
    except (OSError, RuntimeError, ValueError) as error:
        raise OutputError(f"{out}: writing the movie failed ({' '.join(str(error).split())})") from None
    finally:
        plt.close(fig)
    return len(frames)
