"""Pictures of a run: `abm plot` (PNG) and `abm movie` (GIF, MP4) for 2D and 3D runs. Sizes are
checked, and every panel must show something (several distinct colours), not a blank frame."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
from PIL import Image

import abm
from abm.cli import main
from abm.viz import movie
from abm.viz.plot import TYPE_COLOURS, Categories, draw_plane, plot_run
from run_helpers import CONFIG, overrides
from abm.runner import run_to_file

RUNS = {
    "2d": overrides(shape=(60, 40), hours=2.0, tumor=150, nk=30, snapshot=5),
    "3d": overrides(shape=(40, 36, 24), hours=1.0, tumor=200, nk=200, snapshot=5),  # NK cells in every slice
}


@pytest.fixture(scope="module", params=sorted(RUNS))
def run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("plots") / f"run{request.param}.h5"
    run_to_file(CONFIG, overrides=RUNS[request.param], out=out, device="cpu", progress=False, log=lambda m: None)
    return out


def _colours(image: Image.Image, box=None, inset: int = 3) -> int:
    """Distinct colours inside a box (left, top, right, bottom), minus a border (axes frame)."""
    if box is not None:
        left, top, right, bottom = box
        image = image.crop((left + inset, top + inset, right - inset, bottom - inset))
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    return len(np.unique(pixels, axis=0))


def test_plot_png_has_every_panel_drawn(run, tmp_path):
    picture = plot_run(run, tmp_path / "run.png")
    image = Image.open(picture.path)
    assert image.size == picture.size
    assert 900 <= image.size[0] <= 2400 and 600 <= image.size[1] <= 1800
    with h5py.File(run, "r") as f:
        fields = list(f["snapshots"][sorted(f["snapshots"])[-1]]["fields"])
    assert set(picture.panels) == {"lattice", "timeseries", *(f"field:{name}" for name in fields)}
    assert _colours(image, picture.panels["lattice"]) >= 3  # empty, tumor, NK at least
    for name in fields:
        assert _colours(image, picture.panels[f"field:{name}"]) >= 20  # a gradient, not a flat square
    assert _colours(image, picture.panels["timeseries"]) >= 4  # background, grid, two lines


def test_plot_of_3d_runs_any_plane(run, tmp_path, capsys):
    with h5py.File(run, "r") as f:
        shape = tuple(int(n) for n in f.attrs["lattice_shape"])
    if len(shape) == 2:
        pytest.skip("2D run")
    out = tmp_path / "x.png"
    assert main(["plot", str(run), "--axis", "0", "--index", str(shape[0] // 2), "--out", str(out)]) == 0
    assert Image.open(out).size[0] > 900
    capsys.readouterr()
    assert main(["plot", str(run), "--axis", "1", "--index", str(shape[1]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("abm: error:") and "--index" in err and len(err.strip().splitlines()) == 1


def test_gif_has_one_frame_per_snapshot(run, tmp_path, capsys):
    out = tmp_path / "run.gif"
    assert main(["movie", str(run), "--field", "ifng", "--out", str(out)]) == 0
    assert "frames" in capsys.readouterr().err
    with h5py.File(run, "r") as f:
        n_snapshots = len(f["snapshots"])
    gif = Image.open(out)
    assert gif.n_frames == n_snapshots
    assert 800 <= gif.size[0] <= 2400 and 300 <= gif.size[1] <= 1200
    frames = []
    for k in (0, gif.n_frames - 1):
        gif.seek(k)
        frame = gif.convert("RGB")
        width, height = frame.size
        left, right = frame.crop((0, 0, width // 2, height)), frame.crop((width // 2, 0, width, height))
        assert _colours(left) >= 4 and _colours(right) >= 20  # cells; the field's gradient
        frames.append(np.asarray(frame))
    assert not np.array_equal(*frames)  # time goes by: the stamp and the tissue change


def test_mp4_is_written_when_ffmpeg_is_available(run, tmp_path, capsys):
    if movie._ffmpeg_path() is None:
        pytest.skip("no ffmpeg (pip install 'tissue-abm[movie]')")
    out = tmp_path / "run.mp4"
    assert main(["movie", str(run), "--out", str(out)]) == 0
    assert out.read_bytes()[4:8] == b"ftyp" and out.stat().st_size > 1000


def test_mp4_without_ffmpeg_is_one_line(run, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(movie, "_ffmpeg_path", lambda: None)
    assert main(["movie", str(run), "--out", str(tmp_path / "run.mp4")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("abm: error:") and "pip install" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run.mp4").exists()


@pytest.mark.parametrize("args, text", [(["--field", "nothing"], "--field nothing"), (["--out", "x.avi"], ".gif")])
def test_movie_input_errors_are_one_line(run, tmp_path, capsys, args, text):
    assert main(["movie", str(run), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("abm: error:") and text in err and len(err.strip().splitlines()) == 1


def test_every_type_and_state_has_its_own_colour():
    """The built-in types and plugin types with several states: no two (type, state) pairs share a
    colour, none is white (empty), the built-ins keep their colours, and added ones differ at a glance."""
    from abm.config.plugins import build_spec
    from abm.viz.colours import EMPTY_COLOUR, MIN_DELTA_E, lab

    spec = build_spec()
    types = list(spec.type_names) + ["caf", "macrophage"]
    states = {**{t: list(s) for t, s in spec.states.items()},
              "caf": ["quiescent", "activated", "senescent"], "macrophage": ["m1", "m2"]}
    cats = Categories.of(types, states)
    assert len(cats.colours) == len(cats.pairs) == sum(len(s) for s in states.values())
    assert len(set(cats.colours)) == len(cats.colours) and EMPTY_COLOUR not in cats.colours
    for t_name in spec.type_names:
        assert [cats.colours[i] for i, (t, _) in enumerate(cats.pairs) if t == t_name] == TYPE_COLOURS[t_name]
    added = lab([c for (t, _), c in zip(cats.pairs, cats.colours) if t in ("caf", "macrophage")])
    others = lab(cats.colours + [EMPTY_COLOUR])
    distances = np.linalg.norm(added[:, None] - others[None], axis=-1)
    assert np.sort(distances, axis=1)[:, 1].min() >= MIN_DELTA_E  # [:, 0] is each colour itself
    many = {f"plugin{k}": [f"s{j}" for j in range(6)] for k in range(30)}  # 180 more: still no two alike
    assert len(set(Categories.of(list(many), many).colours)) == 180
    assert Categories.of(types, states).colours == cats.colours  # the same run, the same colours


def test_x_is_horizontal_and_y_vertical():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plane = np.zeros((6, 3))  # [x, y]: 6 sites along x, 3 along y
    plane[5, 0] = 1  # the last x, the first y: bottom right
    fig, ax = plt.subplots()
    image = draw_plane(ax, plane, 100.0, 2, None)
    assert image.get_array().shape == (3, 6)  # rows are y, columns x
    assert image.get_array()[0, 5] == 1 and image.origin == "lower"  # row 0 drawn at the bottom
    assert list(image.get_extent()) == [0, 0.6, 0, 0.3] and ax.get_xlabel() == "x (mm)"
    fig, ax = plt.subplots()
    draw_plane(ax, plane, 100.0, 3, 0)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("y (mm)", "z (mm)")
    plt.close("all")


def test_python_access_in_one_call(run):
    series = abm.read_timeseries(run)
    assert series.index.name == "time_h" and series.columns[0] == "step" and "tumor" in series and "births" in series
    snapshot = abm.read_snapshot(run)
    assert snapshot["step"] == int(series["step"].iloc[-1])
    assert snapshot["cell_type"].shape == snapshot["fields"]["ifng"].shape
    first = abm.read_snapshot(run, step=0)
    assert first["time_h"] == 0.0 and len(first["agents"]["id"]) == int((first["cell_type"] >= 0).sum())
