"""abm view in headless Chromium: one run (time slider, field selector, hover, zoom, the fixed and
per-frame colour scales, a download), then two runs side by side (titled by their arms, one time
axis, one colour scale, the populations on one plot).

Screenshots go to runs/test-artifacts/ (view-one-run.png, view-two-runs.png, ...). What the
figures show is read from plotly's own record of them in the page (the graph div's _fullLayout
and _fullData), which is what plotly.js has drawn.
"""
from __future__ import annotations

import re

import h5py
import pytest

from abm.runner import run_to_file
from browser import chromium, need_browser, screenshot, served
from run_helpers import CONFIG, overrides

WAIT_S = 90  # Solara's first page on a busy 2-core machine takes seconds
ARM = "nk_kill=0.5"
FIGURES_JS = """
return Array.from(document.querySelectorAll('.abm-frame .js-plotly-plot')).map(g => {
  const field = g._fullData[1] || {};
  return {x: g._fullLayout.xaxis.range, y: g._fullLayout.yaxis.range, field: field.name || null,
          zmax: field.zmax === undefined ? null : field.zmax, colourbar: !!field.showscale,
          bars: g.querySelectorAll('.colorbar').length};
});"""
GROUPS_JS = """
const g = document.querySelector('.abm-populations .js-plotly-plot');
return g ? Array.from(new Set(g._fullData.map(t => t.legendgrouptitle.text))) : [];"""


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("view-browser")
    paths = [folder / "first.h5", folder / "second.h5"]
    for path, (hours, seed) in zip(paths, ((2.0, 42), (3.0, 7))):
        run_to_file(CONFIG, overrides=overrides(shape=(60, 40), hours=hours, tumor=150, nk=30, snapshot=5, seed=seed),
                    out=path, device="cpu", progress=False, log=lambda m: None)
    with h5py.File(paths[1], "a") as f:
        f.attrs["sweep_arm"] = ARM  # as abm sweep records a run's arm: its card is titled by it
    return paths


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    path = tmp_path_factory.mktemp("view-browser-3d") / "cube.h5"
    run_to_file(CONFIG, overrides=overrides(shape=(40, 36, 24), hours=1.0, tumor=200, nk=200, snapshot=5),
                out=path, device="cpu", progress=False, log=lambda m: None)
    return path


def _wait(driver, condition, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S, poll_frequency=0.2).until(lambda d: condition(d), message=what)


def _all(driver, css: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def _texts(driver, css: str) -> list[str]:
    return [element.text for element in _all(driver, css)]


def _figures(driver) -> list[dict]:
    return driver.execute_script(FIGURES_JS)


def _pixels(driver, css: str) -> bytes:
    """The element's pixels as drawn on the page (PNG); a new picture gives other bytes."""
    elements = _all(driver, css)
    return elements[0].screenshot_as_png if elements else b""


def _press(driver, key: str, presses: int = 1) -> None:
    """Keys on the time slider's thumb, as a person would after clicking it: the page starts at the last snapshot."""
    from selenium.webdriver.common.keys import Keys

    thumb = _all(driver, ".abm-time-slider [role=slider]")[0]
    for _ in range(presses):
        thumb.send_keys(getattr(Keys, key))


def _at(driver, step: str, runs: int = 1):
    """Wait until every card shows `step` ('step 10') and its figure has been drawn."""
    _wait(driver, lambda d: [t.split(",")[0] for t in _texts(d, ".abm-step-label")] == [step] * runs
          and len(_figures(d)) == runs, f"{step} shown")


def _choose(driver, css: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    _all(driver, f"{css} .v-field")[0].click()
    item = _wait(driver, lambda d: [i for i in d.find_elements(By.CSS_SELECTOR, ".v-overlay .v-list-item")
                                    if i.text.strip() == name], f"menu item {name}")[0]
    item.click()


def _open(driver, url: str, runs: int) -> None:
    driver.get(url)
    _wait(driver, lambda d: len(_figures(d)) == runs and all(f["field"] for f in _figures(d))
          and len(_texts(d, ".abm-step-label")) == runs, f"{runs} run(s) drawn")


def _hover_names_the_cell(driver) -> None:
    """The pointer on the lattice's middle (the tumour's centre): its cell and the fields there."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).move_to_element(_all(driver, ".abm-frame .nsewdrag[data-subplot='xy']")[0]).perform()
    text = _wait(driver, lambda d: next((t for t in _texts(d, ".abm-hover")[:1] if " id " in t), None), "hover text")
    site = re.search(r"\(site (\d+), (\d+)\)", text)
    assert site and abs(int(site[1]) - 30) <= 2 and abs(int(site[2]) - 20) <= 2, text  # of 60 x 40
    assert "tumor" in text and "state_age_min" in text, text
    assert "chemoattractant = " in text and "ifng = " in text, text


def _zoom_changes_the_view(driver) -> dict:
    """A drag on the lattice zooms it, the field with it; the zoom stays when the time moves."""
    from selenium.webdriver.common.action_chains import ActionChains

    before = _figures(driver)[0]
    assert before["x"] == [0, 1.2] and before["y"] == [0, 0.8]
    area = _all(driver, ".abm-frame .nsewdrag[data-subplot='xy']")[0]
    ActionChains(driver).move_to_element_with_offset(area, -60, -40).click_and_hold().move_by_offset(120, 80) \
        .release().perform()
    zoomed = _wait(driver, lambda d: next((f for f in _figures(d)[:1] if f["x"] != before["x"]), None),
                   "the lattice zoomed")
    assert before["x"][0] < zoomed["x"][0] < zoomed["x"][1] < before["x"][1]
    assert zoomed["y"][1] - zoomed["y"][0] < 0.8
    shown = driver.execute_script("const g = document.querySelector('.abm-frame .js-plotly-plot');"
                                  "return g._fullLayout.xaxis2.range;")
    assert shown == zoomed["x"]  # the field's panel follows
    return zoomed


def _colour_scales(driver, zoomed: dict) -> None:
    """Fixed: the colour bar's top is the same at two times. Per frame: each time its own; a field
    that is zero everywhere (IFN-gamma at the start) has no colour bar."""
    fixed = _figures(driver)[0]
    assert fixed["colourbar"] and fixed["bars"] == 1 and fixed["zmax"] > 0
    _press(driver, "ARROW_LEFT", 2)
    _at(driver, "step 10")
    _wait(driver, lambda d: _figures(d)[0]["x"] == zoomed["x"], "the zoom kept at another time")
    assert _figures(driver)[0]["zmax"] == fixed["zmax"]
    assert "fixed" in _texts(driver, ".abm-field-scale")[0]
    _all(driver, ".abm-scale button")[1].click()  # per frame
    _wait(driver, lambda d: "own maximum" in _texts(d, ".abm-field-scale")[0], "per-frame scale")
    per_frame = _figures(driver)[0]["zmax"]
    assert 0 < per_frame <= fixed["zmax"]
    _press(driver, "HOME")
    _at(driver, "step 0")
    _wait(driver, lambda d: "zero everywhere" in _texts(d, ".abm-field-scale")[0], "IFN-gamma zero at the start")
    start = _figures(driver)[0]
    assert not start["colourbar"] and start["bars"] == 0
    _all(driver, ".abm-scale button")[0].click()  # fixed again: the bar is back, with the run's top
    _wait(driver, lambda d: _figures(d)[0]["bars"] == 1 and _figures(d)[0]["zmax"] == fixed["zmax"], "fixed again")


def _a_second_viewer_has_its_own_time(driver, url: str) -> None:
    """Another tab is another Solara session: it starts at the last snapshot, and leaves the first tab's time alone."""
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    _open(driver, url, runs=1)
    assert _texts(driver, ".abm-step-label")[0].startswith("step 20"), _texts(driver, ".abm-step-label")
    _press(driver, "ARROW_LEFT", 2)
    _at(driver, "step 10")
    driver.close()
    driver.switch_to.window(first)
    assert _texts(driver, ".abm-step-label")[0].startswith("step 0,"), _texts(driver, ".abm-step-label")


def test_one_run_time_field_hover_zoom_and_colour_scale(two_runs):
    need_browser()
    with served(str(two_runs[0])) as url, chromium(width=1440, height=1500) as driver:  # every panel in view
        _open(driver, url, runs=1)
        label = _texts(driver, ".abm-step-label")[0]
        assert label.startswith("step 20, t = 2.00 h"), label  # the last snapshot first
        assert _texts(driver, ".abm-run-title") == ["first"]  # no arm recorded: the file's name
        _hover_names_the_cell(driver)
        screenshot(driver, "view-one-run")
        lattice = _pixels(driver, ".abm-frame")
        zoomed = _zoom_changes_the_view(driver)
        _colour_scales(driver, zoomed)
        assert _pixels(driver, ".abm-frame") != lattice
        _a_second_viewer_has_its_own_time(driver, url)
        _choose(driver, ".abm-field-select", "ifng")
        _wait(driver, lambda d: _figures(d)[0]["field"] == "ifng", "the other field drawn")
        screenshot(driver, "view-one-run-ifng")


def test_two_runs_side_by_side_share_the_time_axis_and_the_scale(two_runs):
    need_browser()
    with served(*map(str, two_runs)) as url, chromium(width=1440, height=1100) as driver:
        _open(driver, url, runs=2)
        assert [t.split(",")[0] for t in _texts(driver, ".abm-step-label")] == ["step 20", "step 30"]
        assert _texts(driver, ".abm-run-title") == ["first", ARM]  # titled by the arm the file records
        tops = {f["zmax"] for f in _figures(driver)}
        assert len(tops) == 1 and tops.pop() > 0  # one colour scale for both runs
        _wait(driver, lambda d: sorted(d.execute_script(GROUPS_JS)) == ["1: first", f"2: {ARM}"],
              "both runs' populations on one plot")
        screenshot(driver, "view-two-runs")
        # Snapshots at 0, 0.5, ... 2 h and 0, 0.5, ... 3 h: three steps back is 1.5 h for both.
        _press(driver, "ARROW_LEFT", 3)
        _at(driver, "step 15", runs=2)


def test_the_time_series_downloads_as_csv(two_runs, tmp_path):
    need_browser()
    with served(str(two_runs[0])) as url, chromium(width=1440, height=1100) as driver:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
        _open(driver, url, runs=1)
        button = [b for b in _all(driver, ".abm-exports button") if "CSV" in b.text.upper()][0]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()
        saved = tmp_path / "first-timeseries.csv"
        _wait(driver, lambda d: saved.exists() and saved.stat().st_size > 0, "the CSV downloaded")
        lines = saved.read_text().splitlines()
        assert lines[0].startswith("step,time_h,") and len(lines) == 21 + 1  # steps 0..20


def test_the_cells_of_a_3d_run_rotate_in_webgl(cube):
    need_browser()
    from selenium.webdriver.common.action_chains import ActionChains

    camera_js = ("const g = document.querySelector('.abm-cells3d .js-plotly-plot');"
                 "return g && g._fullLayout.scene._scene ? g._fullLayout.scene._scene.getCamera().eye : null;")
    with served(str(cube)) as url, chromium(width=1440, height=1500) as driver:
        _open(driver, url, runs=1)
        eye = _wait(driver, lambda d: d.execute_script(camera_js), "the 3D view drawn")
        assert _texts(driver, ".abm-plane-label")[0] == "plane z = 12 of 24 (mid-plane)"
        view = _all(driver, ".abm-cells3d canvas")[0]  # WebGL's
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", view)
        ActionChains(driver).move_to_element(view).click_and_hold().pause(0.2).move_by_offset(40, 10).pause(0.2) \
            .move_by_offset(80, 20).pause(0.2).release().perform()  # a drag in steps, as a hand moves
        _wait(driver, lambda d: d.execute_script(camera_js) != eye, "the view rotated")
        screenshot(driver, "view-3d")
