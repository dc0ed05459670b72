"""abm view --live: the model in Mesa's SolaraViz with our components (no browser), then in Chromium.

The buttons are Mesa's own (ModelController): the tests click them through the rendered widgets,
the same functions the browser calls.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import ipyvuetify as v
import ipywidgets
import numpy as np
import pytest
import solara
from reacton.find import Finder

from abm import TissueModel
from browser import chromium, need_browser, screenshot, served
from abm.config.sections import load_config
from abm.errors import AbmError
from abm.view.lattice_image import hex_rgb, lattice_image, plane_of
from abm.view.live import CONFIG_ENV, LivePage, Page, serve_live
from abm.view.live_params import config_value, label_of, model_params
from abm.view.mesa_viz import Slider, SolaraViz, components, field_figure, population_component
from abm.viz.plot import TYPE_COLOURS

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = """name: live_minimal
seed: 1
device: cpu
lattice: {shape: [30, 30], dx_um: 20.0, neighbourhood: moore}
time: {dt_min: 6.0, duration_h: 5.0}
cells:
  tumor: {division_rate_per_h: 0.035, death_rate_per_h: 0.01}
  nk: {move_rate_per_h: 10.0, kill_probability_per_contact: 0.05}
placement:
  - {pattern: scatter, cell_type: tumor, density_per_mm3: 25000}
  - {pattern: scatter, cell_type: nk, density_per_mm3: 2500}
"""
WITH_FIELDS = f"""name: live_fields
seed: 3
device: cpu
include: {ROOT / 'configs/parameters/tissue_model.yaml'}
tissue: collagen_gel
lattice: {{shape: [40, 40], dx_um: 20.0}}
time: {{dt_min: 6.0, duration_h: 10.0}}
fields: [ifng, chemoattractant]
placement:
  - {{pattern: ball, cell_type: tumor, count: 80}}
  - {{pattern: scatter, cell_type: nk, count: 30, inner_radius_um: 150}}
"""


@pytest.fixture
def minimal(tmp_path) -> str:
    path = tmp_path / "live_minimal.yaml"
    path.write_text(MINIMAL)
    return str(path)


@pytest.fixture
def with_fields(tmp_path) -> str:
    path = tmp_path / "live_fields.yaml"
    path.write_text(WITH_FIELDS)
    return str(path)


def render_in_layout(element_factory):
    """Render inside an AppLayout, as the Solara server does (SolaraViz puts its controls in the sidebar)."""
    @solara.component
    def Wrapped():
        with solara.AppLayout():
            element_factory()
    return solara.render(Wrapped(), handle_error=False)


def with_class(rc, name: str) -> list:
    def has(widget):
        classes = set((getattr(widget, "class_", None) or "").split()) | set(getattr(widget, "_dom_classes", ()))
        return name in classes
    return Finder([rc.container])._walk(has)


def text_of(rc, name: str) -> str:
    found = with_class(rc, name)
    assert len(found) == 1, f"{len(found)} widgets with class {name}"
    return "".join(str(child) for child in found[0].children)


def lattice_png(rc) -> bytes:
    (image,) = with_class(rc, "abm-live-lattice-image")
    return bytes(image.value)


def click(rc, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


# ---------------------------------------------------------------- the pure pieces


def _settled(read, quiet_s: float = 1.0, timeout_s: float = 30.0) -> str:
    """The value once it has stayed the same for quiet_s; fails if it keeps changing."""
    value, since, deadline = read(), time.monotonic(), time.monotonic() + timeout_s
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline, f"still changing after {timeout_s} s: {value}"
        time.sleep(0.1)
        now = read()
        if now != value:
            value, since = now, time.monotonic()
    return value


def test_lattice_image_colours_orientation_and_legend():
    types, states = ["tumor", "nk"], {"tumor": ["proliferating", "invasive"], "nk": ["active"]}
    cell_type = np.full((4, 3), -1, dtype=np.int8)  # [x, y]
    cell_state = np.full((4, 3), -1, dtype=np.int8)
    cell_type[3, 2], cell_state[3, 2] = 0, 1  # an invasive tumor cell at the top right (x = 3, y = 2)
    cell_type[0, 0], cell_state[0, 0] = 1, 0  # an NK cell at the bottom left
    image = lattice_image(cell_type, cell_state, types, states)
    assert image.rgb.shape == (3, 4, 3) and image.rgb.dtype == np.uint8
    assert tuple(image.rgb[0, 3]) == hex_rgb(TYPE_COLOURS["tumor"][1])  # row 0 is the largest y
    assert tuple(image.rgb[2, 0]) == hex_rgb(TYPE_COLOURS["nk"][0])
    assert tuple(image.rgb[1, 1]) == (255, 255, 255)
    assert [(e.label, e.count) for e in image.legend] == [("tumor invasive", 1), ("nk", 1)]


def test_lattice_image_of_a_3d_lattice_shows_the_mid_plane():
    cell_type = np.full((2, 2, 5), -1, dtype=np.int8)
    cell_state = np.zeros_like(cell_type)
    cell_type[1, 0, 2] = 0
    image = lattice_image(cell_type, cell_state, ["tumor"], {"tumor": ["proliferating"]})
    assert image.plane == "z = 2 of 5" and image.legend[0].count == 1
    with pytest.raises(ValueError, match="outside"):
        plane_of(cell_type, axis=2, index=5)


def test_model_params_are_overrides_that_rebuild_the_same_config(minimal):
    config, _ = load_config(minimal)
    params = model_params(config, minimal)
    kill = params["cells.nk.kill_probability_per_contact"]
    assert isinstance(kill, Slider) and (kill.min, kill.max, kill.value) == (0.0, 1.0, 0.05)  # a probability
    assert params["seed"].value == 1 and params["config"] == minimal
    tops = {key: s.max for key, s in params.items() if key.startswith("placement.")}
    assert tops == {"placement.0.density_per_mm3": 50000.0, "placement.1.density_per_mm3": 5000.0}
    # what SolaraViz's Reset does: the class called with the fixed values and the sliders' values
    values = {key: (p.value if isinstance(p, Slider) else p) for key, p in params.items()}
    rebuilt = TissueModel(**values)
    assert rebuilt.config.model_dump() == config.model_dump()
    assert config_value(rebuilt.config, "placement.1.density_per_mm3") == 2500


def test_slider_labels_name_their_units(minimal):
    config, _ = load_config(minimal)
    labels = {key: s.label for key, s in model_params(config, minimal).items() if isinstance(s, Slider)}
    assert labels["cells.nk.move_rate_per_h"] == "nk move rate (1/h)"
    assert labels["cells.nk.kill_probability_per_contact"] == "nk kill probability per contact"  # a fraction
    assert labels["cells.tumor.division_rate_per_h"] == "tumor division rate (1/h)"
    assert labels["placement.0.density_per_mm3"] == "placement 0: tumor density (cells/mm³)"
    assert labels["seed"] == "seed"
    assert label_of("count", "placement 2: nk") == "placement 2: nk count (cells)"
    assert label_of("max_kills", "nk") == "nk max kills (kills)" and label_of("conjugation_time_min") == \
        "conjugation time (min)"


def test_placement_sliders_keep_every_placement_on_the_lattice(tmp_path):
    crowded = MINIMAL.replace("25000", "100000")  # 80 % of the sites
    path = tmp_path / "crowded.yaml"
    path.write_text(crowded)
    config, _ = load_config(str(path))
    params = model_params(config, str(path))
    tops = {key: s.max for key, s in params.items() if key.startswith("placement.")}
    TissueModel(str(path), **tops)  # every placement slider at its top still fits
    assert tops["placement.0.density_per_mm3"] >= 100000.0  # never below the config's own value


def test_field_figure_has_a_colour_bar_in_the_fields_units(with_fields):
    model = TissueModel(with_fields, overrides={"cells.nk.ifng_secretion_per_min": 0.05})  # a field to draw
    model.run(3)
    fig = field_figure(model, "ifng")
    (ax,) = fig.axes
    assert ax.get_title() == "ifng" and ax.get_xlabel() == "x (mm)"
    units = model.config.fields["ifng"].units
    assert units and ax.child_axes[0].get_ylabel() == f"ifng ({units})"


# ---------------------------------------------------------------- in Mesa's SolaraViz, without a browser


def test_our_components_in_mesas_own_solaraviz(minimal):
    model = TissueModel(minimal)
    config, _ = load_config(minimal)
    box, rc = render_in_layout(lambda: SolaraViz(model, components=components(model),
                                                 model_params=model_params(config, minimal)))
    assert text_of(rc, "abm-live-step-label").startswith("step 0 of 50")
    before = lattice_png(rc)
    click(rc, "Step")
    assert model.steps == 1
    assert text_of(rc, "abm-live-step-label").startswith("step 1 of 50 · t = 0.1 h")
    assert lattice_png(rc) != before  # NK cells walked
    plot, page = population_component(model)
    assert page == 0 and callable(plot)


def test_live_page_steps_and_reset_rebuilds_with_the_changed_parameter(minimal):
    model = solara.reactive(TissueModel(minimal))
    box, rc = render_in_layout(lambda: LivePage(model, minimal))
    first = model.value
    click(rc, "Step")
    click(rc, "Step")
    assert text_of(rc, "abm-live-step-label").startswith("step 2 of 50")
    assert "nk active" in "".join(str(w.unsafe_innerHTML) for w in with_class(rc, "abm-live-legend")[0].children)
    rc.find(v.Slider, label="nk kill probability per contact").widget.v_model = 0.5
    rc.find(v.Slider, label="seed").widget.v_model = 7
    assert first.config.cells.nk.kill_probability_per_contact == 0.05  # a slider applies on Reset only
    click(rc, "Reset")
    assert model.value is not first and model.value.steps == 0
    assert model.value.config.cells.nk.kill_probability_per_contact == 0.5 and model.value.seed == 7
    assert text_of(rc, "abm-live-step-label").startswith("step 0 of 50")
    assert text_of(rc, "abm-live-param-cells-nk-kill_probability_per_contact").endswith("= 0.5")


def test_field_panel_selects_a_field(with_fields):
    model = solara.reactive(TissueModel(with_fields))
    box, rc = render_in_layout(lambda: LivePage(model, with_fields))
    select = rc.find(v.Select, label="field").widget
    assert select.items == ["ifng", "chemoattractant"] and select.v_model == "ifng"
    select.v_model = "chemoattractant"
    assert rc.find(v.Select, label="field").widget.v_model == "chemoattractant"
    assert len(rc.find(ipywidgets.Image).widgets) >= 2  # the lattice and the field figure (and the plot)


def test_each_session_builds_its_own_model(minimal, monkeypatch):
    monkeypatch.setenv(CONFIG_ENV, minimal)
    _, one = render_in_layout(Page)
    _, two = render_in_layout(Page)
    click(one, "Step")
    assert text_of(one, "abm-live-step-label").startswith("step 1 ")
    assert text_of(two, "abm-live-step-label").startswith("step 0 ")


def test_a_bad_config_is_a_one_line_error_before_serving(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.replace("0.05}", "1.5}"))
    with pytest.raises(AbmError, match="kill_probability_per_contact"):
        serve_live(str(bad), port=0, open_browser=False)
    done = subprocess.run([sys.executable, "-m", "abm", "view", "--live", str(bad), "--no-browser", "--port", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("abm: error: ") and "1.5" in done.stderr
    assert "http" not in done.stdout


# ---------------------------------------------------------------- in Chromium


def test_live_view_in_the_browser(with_fields):
    need_browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def label(driver) -> str:
        return driver.find_element(By.CLASS_NAME, "abm-live-step-label").text

    def button(driver, text: str):
        def find(d):
            return next((b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip().lower() == text.lower()
                         and b.is_enabled()), None)
        return WebDriverWait(driver, 60).until(find)

    def lattice(driver) -> bytes:
        return driver.find_element(By.CSS_SELECTOR, ".abm-live-lattice-image").screenshot_as_png

    # A long run: playing must not reach its end (and turn the pause button back to play) before a
    # slow, busy browser finds the pause button.
    long_run = Path(with_fields).with_name("live_long.yaml")
    long_run.write_text(Path(with_fields).read_text().replace("duration_h: 10.0", "duration_h: 1000.0"))
    with served("--live", str(long_run)) as url, chromium() as driver:
        driver.get(url)
        WebDriverWait(driver, 120).until(lambda d: d.find_elements(By.CLASS_NAME, "abm-live-step-label"))
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".abm-live-field img"))
        assert label(driver).startswith("step 0 of 10000")
        _sliders_show_values_and_units(driver, str(long_run))
        before = lattice(driver)
        button(driver, "Step").click()
        WebDriverWait(driver, 60).until(lambda d: label(d).startswith("step 1 of 10000 · t = 0.1 h"))
        WebDriverWait(driver, 30).until(lambda d: lattice(d) != before)
        _play_until(driver, button, label, step=4)
        button(driver, "❚❚").click()
        button(driver, "Step")  # Mesa enables Step again once paused
        paused = _settled(lambda: label(driver))  # a step in flight at the click may still land
        time.sleep(1.5)
        assert label(driver) == paused  # paused: no more steps
        shot = screenshot(driver, "view-live")
        assert shot.stat().st_size > 10_000


def _play_until(driver, button, label, step: int) -> None:
    """Click play until the run passes `step`. On a busy machine a click that lands while the page
    is still redrawing the last step can be lost, so the click is repeated (at most 3 times)."""
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    for _ in range(3):
        try:
            button(driver, "▶").click()
            WebDriverWait(driver, 60).until(lambda d: int(label(d).split()[1]) >= step)
            return
        except (StaleElementReferenceException, TimeoutException):
            continue
    raise AssertionError(f"play did not pass step {step}: the label reads {label(driver)!r}")


def _sliders_show_values_and_units(driver, path: str) -> None:
    """Each parameter slider shows its value at all times (not only while dragged) under a label
    naming its units."""
    from selenium.webdriver.common.by import By

    config, _ = load_config(path)
    shown = {}
    for slider in driver.find_elements(By.CSS_SELECTOR, ".v-navigation-drawer .v-slider"):
        value = slider.find_element(By.CSS_SELECTOR, ".v-slider-thumb__label")
        assert value.is_displayed(), slider.text
        shown[slider.find_element(By.CSS_SELECTOR, ".v-label").text] = value.text
    expected = config.cells.nk.move_rate_per_h
    assert float(shown["nk move rate (1/h)"]) == pytest.approx(expected, rel=0.02), shown
    assert int(shown["seed"]) == config.seed and "placement 0: tumor count (cells)" in shown, shown


def test_play_waits_for_the_page_to_draw_the_last_step(minimal):
    """abm/view/paced.py: a live model's step waits for the page's redraw, so stepping cannot
    outrun drawing (Solara's 'too many renders': the page lost its components under load)."""
    import threading

    from abm.view.paced import drawn, pace

    model = TissueModel(minimal)
    pace(model)
    stepping = threading.Thread(target=model.step)
    stepping.start()
    stepping.join(timeout=0.5)
    assert stepping.is_alive() and model.steps == 0  # no redraw reported yet: it waits
    drawn(model)
    stepping.join(timeout=60)
    assert not stepping.is_alive() and model.steps == 1
    assert pace(model) is pace(model)  # paced once, whatever the page's re-renders
