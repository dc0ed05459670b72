"""abm view without a browser: the run list, what is read from the files, the figures, hover text and downloads."""
from __future__ import annotations

import base64
import io
import time

import h5py
import numpy as np
import pytest
from PIL import Image

from abm.cli import main
from abm.errors import OutputError
from abm.runner import run_to_file
from abm.view import app, assets, data, exports, figures, hover, render, runs, views
from abm.view.lattice_image import hex_rgb, lattice_rgb
from abm.viz.plot import TYPE_COLOURS, Categories
from run_helpers import CONFIG, overrides, start_run

RUNS = {
    "2d": overrides(shape=(60, 40), hours=2.0, tumor=150, nk=30, snapshot=5),
    "3d": overrides(shape=(40, 36, 24), hours=1.0, tumor=200, nk=200, snapshot=5),
}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("view")
    paths = {}
    for name, values in RUNS.items():
        paths[name] = folder / f"{name}.h5"
        run_to_file(CONFIG, overrides=values, out=paths[name], device="cpu", progress=False, log=lambda m: None)
    return paths


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _has_colour(pixels: np.ndarray, colour: str) -> bool:
    return bool(np.all(pixels == np.array(hex_rgb(colour)), axis=-1).any())


def test_lattice_rgb_has_each_cell_in_its_colour(made):
    info = data.info(made["2d"])
    plane = data.read_plane(info.path, info.run_id, info.steps[0], None, None)
    cats = Categories.of(info.types, info.states)
    image = lattice_rgb(cats, plane["cell_type"], plane["cell_state"])
    assert image.shape == (60, 40, 3) and image.dtype == np.uint8
    tumor = np.argwhere((plane["cell_type"] == info.types.index("tumor")) & (plane["cell_state"] == 0))[0]
    nk = np.argwhere(plane["cell_type"] == info.types.index("nk"))[0]
    empty = np.argwhere(plane["cell_type"] == -1)[0]
    assert tuple(image[tuple(tumor)]) == hex_rgb(TYPE_COLOURS["tumor"][0])  # proliferating
    assert tuple(image[tuple(nk)]) == hex_rgb(TYPE_COLOURS["nk"][0])  # active
    assert tuple(image[tuple(empty)]) == (255, 255, 255)


def test_counts_of_the_legend_are_the_cells_of_the_snapshot(made):
    from abm.viz.plot import cell_counts

    info = data.info(made["2d"])
    step = info.steps[-1]
    cats = Categories.of(info.types, info.states)
    plane = data.read_plane(info.path, info.run_id, step, None, None)
    counts = cell_counts(cats, data.series_row(info.series, step), cats.codes(plane["cell_type"], plane["cell_state"]))
    cells = data.read_cells(info.path, info.run_id, step)
    codes = render.category_codes(cats, cells["cell_type"], cells["state"])
    assert counts == [int(np.count_nonzero(codes == i + 1)) for i in range(len(cats.pairs))]
    assert sum(counts) == len(codes) > 150


def test_3d_planes_along_each_axis_and_the_index_clamped(made):
    info = data.info(made["3d"])
    assert info.shape == (40, 36, 24)
    for axis, expected in ((0, (36, 24)), (1, (40, 24)), (2, (40, 36))):
        index = data.clamp_index(info.shape, axis, None)
        plane = data.read_plane(info.path, info.run_id, info.steps[-1], axis, index)
        assert plane["cell_type"].shape == expected and plane["fields"]["ifng"].shape == expected
        assert index == info.shape[axis] // 2
    assert data.clamp_index(info.shape, 2, 99) == 23 and data.clamp_index(info.shape, 0, -4) == 0
    assert views.plane_of(info, 1, 500) == (1, 35)
    assert views.plane_of(data.info(made["2d"]), 1, 5) == (None, None)


def test_nearest_snapshot_by_time_and_the_merged_timeline():
    times = [0.0, 0.5, 1.0]
    assert [data.nearest(times, t) for t in (-1, 0.2, 0.26, 0.75, 0.76, 9)] == [0, 0, 1, 1, 2, 2]
    a = data.RunInfo(None, None, "a", "a", (2, 2), 1.0, [], {}, (0, 5), (0.0, 0.5))
    b = data.RunInfo(None, None, "b", "b", (2, 2), 1.0, [], {}, (0, 4, 8), (0.0, 0.4, 0.8))
    assert data.timeline([a, b]) == [0.0, 0.4, 0.5, 0.8]
    with pytest.raises(ValueError):
        data.nearest([], 1.0)


def test_sweep_folder_discovery(made, tmp_path):
    sweep = tmp_path / "sweep"
    (sweep / "arm1").mkdir(parents=True)
    for name in ("arm1/000-ab-seed1.h5", "001-cd-seed1.h5"):
        (sweep / name).write_bytes(made["2d"].read_bytes())
    (sweep / ".002-ef-seed1.h5.part-host-1-x.h5").write_bytes(b"being written")  # a sweep attempt: left out
    (sweep / "summary.csv").write_text("not a run\n")
    found = runs.discover([sweep, sweep / "001-cd-seed1.h5"])
    assert found == [sweep / "001-cd-seed1.h5", sweep / "arm1/000-ab-seed1.h5"]
    assert runs.resolve([sweep]) == [p.resolve() for p in found]
    (tmp_path / "empty").mkdir()
    with pytest.raises(OutputError, match="holds no .h5 run files"):
        runs.discover([tmp_path / "empty"])


@pytest.mark.parametrize("kind, text", [("missing", "no such run file"), ("text", "not an HDF5 file"),
                                        ("foreign", "not a tissue-abm run"), ("truncated", "truncated")])
def test_bad_files_are_refused_before_serving(made, tmp_path, capsys, kind, text):
    bad = tmp_path / "bad.h5"
    if kind == "text":
        bad.write_text("hello\n")
    elif kind == "foreign":
        with h5py.File(bad, "w") as f:
            f["x"] = [1, 2]
    elif kind == "truncated":
        bad.write_bytes(made["2d"].read_bytes()[:300_000])
    started = time.monotonic()
    code = main(["view", str(made["2d"]), str(bad), "--no-browser", "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2 and time.monotonic() - started < 120  # a hang guard a busy machine meets
    assert err.startswith("abm: error: ") and text in err and err.count("\n") == 1, err


def test_frame_figure_shows_the_cells_and_the_field_on_the_scale_given(made):
    info = data.info(made["2d"])
    cats = Categories.of(info.types, info.states)
    plane = data.read_plane(info.path, info.run_id, info.steps[-1], None, None)
    fig = figures.frame_figure(cats, plane, info.dx_um, 2, "ifng", "a.u.", top=0.5)
    image, heat = fig.data
    rgb = _pixels(base64.b64decode(image.source.split(",", 1)[1]))
    assert rgb.shape == (40, 60, 3)  # rows: y (row 0 drawn at the bottom), columns: x
    assert np.array_equal(rgb, lattice_rgb(cats, plane["cell_type"], plane["cell_state"]).swapaxes(0, 1))
    assert (heat.zmin, heat.zmax, heat.showscale) == (0, 0.5, True) and heat.colorbar.title.text == "ifng (a.u.)"
    assert np.allclose(np.asarray(heat.z), plane["fields"]["ifng"].T, rtol=0, atol=1e-5)
    assert fig.layout.xaxis.range == (0, 1.2) and fig.layout.yaxis.scaleanchor == "x"  # mm, equal aspect
    assert fig.layout.xaxis2.matches == "x" and fig.layout.yaxis2.matches == "y"  # zoom and pan together
    zero = figures.frame_figure(cats, {**plane, "fields": {"ifng": np.zeros((60, 40))}}, info.dx_um, 2, "ifng",
                                "a.u.", top=0.0)
    assert zero.data[1].showscale is False  # no colour bar from 0 to 0
    assert "zero everywhere" in zero.layout.annotations[1].text


def test_the_fixed_scale_is_the_largest_value_of_any_snapshot(made):
    info = data.info(made["2d"])
    with h5py.File(info.path, "r") as f:
        expected = max(float(f["snapshots"][name]["fields"]["ifng"][...].max()) for name in f["snapshots"])
    assert data.field_maximum(info, "ifng") == expected > 0
    assert data.field_maximum(info, "no such field") == 0.0


def test_cells_in_3d_and_the_populations_of_two_runs(made):
    info3 = data.info(made["3d"])
    cells = data.read_cells(info3.path, info3.run_id, info3.steps[-1])
    fig = figures.cells3d_figure(views.categories(info3), cells, info3.shape, info3.dx_um, 0, 5)
    points = {trace.name: len(trace.x) for trace in fig.data if trace.mode == "markers"}
    assert sum(points.values()) == len(cells["site"]) and points["nk active"] > 0
    assert fig.data[-1].name == "plane x = 5" and fig.data[0].marker.color == TYPE_COLOURS["tumor"][0]
    info2 = data.info(made["2d"])
    both = figures.populations_figure([("1: a", info2.series, views.categories(info2)),
                                       ("2: b", info3.series, views.categories(info3))], 0.5)
    groups = {trace.legendgrouptitle.text for trace in both.data}
    assert groups == {"1: a", "2: b"} and {trace.line.dash for trace in both.data} == {"solid", "dash"}
    assert both.layout.shapes[0].x0 == 0.5  # the time shown


def test_hover_names_the_cell_and_the_field_values_under_the_pointer(made):
    info = data.info(made["2d"])
    step = info.steps[-1]
    agents = data.read_agents(info.path, info.run_id, step)
    x, y = np.unravel_index(int(agents["site"][0]), info.shape)
    mm = info.dx_um / 1000
    site = hover.site_under(info, None, None, (x + 0.4) * mm, (y + 0.6) * mm)
    assert site == (x, y)
    lines = hover.describe(info, step, None, None, site)
    kind = info.types[int(agents["cell_type"][0])]
    assert kind in lines[1] and f"id {int(agents['id'][0])}" in lines[1] and "state_age_min" in lines[1]
    assert lines[2].startswith("chemoattractant = ") and "ifng = " in lines[2]
    assert hover.site_under(info, None, None, -0.01, 0.1) is None
    assert hover.point_of({"points": {"xs": [0.25], "ys": [0.1]}}) == (0.25, 0.1)
    info3 = data.info(made["3d"])
    assert hover.site_under(info3, 0, 7, 0.05, 0.01) == (7, 2, 0)  # plane x = 7: y to the right, z up


def test_exports_are_the_frame_the_time_series_and_the_movie(made):
    info = data.info(made["2d"])
    png = _pixels(exports.frame_png(info, info.steps[-1], None, None, "ifng", 0.0))
    assert png.shape[1] > 900 and _has_colour(png, TYPE_COLOURS["tumor"][0]) and _has_colour(png, TYPE_COLOURS["nk"][0])
    lines = exports.series_csv(info).splitlines()
    assert lines[0].startswith("step,time_h,") and len(lines) == len(info.series) + 1
    gif = Image.open(io.BytesIO(exports.movie_gif(info, "ifng", None, None)))
    assert gif.n_frames == len(info.steps)
    assert exports.filename(info, "step20", "png") == "2d-step20.png"


def test_subsample_keeps_rare_cells_whole():
    codes = np.array([1] * 10000 + [2] * 30 + [3] * 5)
    keep = render.subsample(codes, 1000)
    assert len(keep) <= 1000 and np.all(np.diff(keep) > 0)
    assert np.count_nonzero(codes[keep] == 2) == 30 and np.count_nonzero(codes[keep] == 3) == 5
    assert list(render.subsample(codes[:50], 1000)) == list(range(50))


def test_provenance_says_where_the_run_comes_from(made):
    rows = dict(data.provenance(data.info(made["2d"])))
    assert rows["seed"] == "42" and rows["parameter set"].startswith("tissue_model.yaml")
    assert rows["status"] == "completed" and rows["git commit"] and rows["package version"]


def test_a_run_being_written_is_followed_without_disturbing_it(tmp_path):
    out = tmp_path / "live.h5"
    # a snapshot every 2 steps (121 in all), polled every 50 ms: the poller sees many of them even
    # when the run takes only a second or two (how long depends on how fast its NK cells kill)
    writer = start_run(out, overrides(shape=(60, 60), hours=24.0, tumor=150, nk=30, snapshot=2, checkpoint=50))
    seen = []
    deadline = time.monotonic() + 120
    while writer.poll() is None and time.monotonic() < deadline:
        if data.stamp(out) is not None:
            try:
                seen.append(len(data.info(out).steps))
            except OutputError:  # the file exists before its first snapshot is complete
                pass
        time.sleep(0.05)
    assert writer.wait(timeout=60) == 0, writer.stderr.read()
    final = data.info(out)
    assert final.attrs["completed"] and len(final.steps) == 121
    assert len(set(seen)) >= 3, seen  # new snapshots showed up while it ran
    assert seen == sorted(seen)


def test_assets_are_the_packages_the_solara_page_loads(tmp_path):
    names = assets.packages()
    assert "requirejs@2.3.6" in names and any("solara-vuetify" in n for n in names)
    assert assets.missing(tmp_path) == names


def test_a_port_in_use_is_one_line():
    taken = app.bind("127.0.0.1", 0)
    with pytest.raises(OutputError, match=r"--host 127.0.0.1 --port \d+: cannot listen there"):
        app.bind("127.0.0.1", taken.getsockname()[1])
    taken.close()
    assert app.url_of("0.0.0.0", 80) == "http://localhost:80/" and app.url_of("::1", 8) == "http://[::1]:8/"
