"""abm view in headless Chromium: one run (time slider, field selector), then two runs side by side.

Screenshots go to runs/test-artifacts/ (view-one-run.png, view-two-runs.png).
"""
from __future__ import annotations

import pytest

from abm.runner import run_to_file
from browser import chromium, need_browser, screenshot, served
from run_helpers import CONFIG, overrides

WAIT_S = 90  # Solara's first page on a busy 2-core machine takes seconds


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("view-browser")
    paths = [folder / "first.h5", folder / "second.h5"]
    for path, (hours, seed) in zip(paths, ((2.0, 42), (3.0, 7))):
        run_to_file(CONFIG, overrides=overrides(shape=(60, 40), hours=hours, tumor=150, nk=30, snapshot=5, seed=seed),
                    out=path, device="cpu", progress=False, log=lambda m: None)
    return paths


def _wait(driver, condition, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S, poll_frequency=0.2).until(lambda d: condition(d), message=what)


def _all(driver, css: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def _texts(driver, css: str) -> list[str]:
    return [element.text for element in _all(driver, css)]


def _pixels(driver, css: str) -> bytes:
    """The element's pixels as drawn on the page (PNG); a new picture gives other bytes."""
    elements = _all(driver, css)
    return elements[0].screenshot_as_png if elements else b""


def _step_back(driver, presses: int = 2) -> None:
    """Keys on the time slider's thumb, as a person would after clicking it: the page starts at the last snapshot."""
    from selenium.webdriver.common.keys import Keys

    thumb = _all(driver, ".abm-time-slider [role=slider]")[0]
    for _ in range(presses):
        thumb.send_keys(Keys.ARROW_LEFT)


def _choose_field(driver, name: str) -> None:
    from selenium.webdriver.common.by import By

    _all(driver, ".abm-field-select .v-field")[0].click()
    item = _wait(driver, lambda d: [i for i in d.find_elements(By.CSS_SELECTOR, ".v-overlay .v-list-item")
                                    if i.text.strip() == name], f"menu item {name}")[0]
    item.click()


def _a_second_viewer_has_its_own_time(driver, url: str) -> None:
    """Another tab is another Solara session: it starts at the last snapshot, and leaves the first tab's time alone."""
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    _open(driver, url, runs=1)
    assert _texts(driver, ".abm-step-label")[0].startswith("step 20"), _texts(driver, ".abm-step-label")
    _step_back(driver, presses=4)
    _wait(driver, lambda d: _texts(d, ".abm-step-label")[0].startswith("step 0,"), "the second tab at step 0")
    driver.close()
    driver.switch_to.window(first)
    assert _texts(driver, ".abm-step-label")[0].startswith("step 10,"), _texts(driver, ".abm-step-label")


def _open(driver, url: str, runs: int) -> None:
    driver.get(url)
    _wait(driver, lambda d: len(_all(d, ".abm-lattice")) == runs and len(_all(d, ".abm-field")) == runs
          and all(_texts(d, ".abm-step-label")), f"{runs} run(s) drawn")


def test_time_slider_and_field_selector_redraw_the_run(two_runs):
    need_browser()
    with served(str(two_runs[0])) as url, chromium(width=1400, height=1250) as driver:  # every panel in view
        _open(driver, url, runs=1)
        label, lattice, field = _texts(driver, ".abm-step-label")[0], _pixels(driver, ".abm-lattice"), \
            _pixels(driver, ".abm-field")
        assert label.startswith("step 20, t = 2.00 h"), label  # the last snapshot first
        screenshot(driver, "view-one-run")
        _step_back(driver)
        _wait(driver, lambda d: _texts(d, ".abm-step-label")[0].startswith("step 10, t = 1.00 h"), "step 10 shown")
        _wait(driver, lambda d: _pixels(d, ".abm-lattice") not in (b"", lattice), "the lattice redrawn")
        moved_field = _wait(driver, lambda d: (p := _pixels(d, ".abm-field")) not in (b"", field) and p,
                            "the field redrawn")
        assert "1.00 h" in _texts(driver, ".abm-time-label")[0]
        _a_second_viewer_has_its_own_time(driver, url)
        _choose_field(driver, "ifng")
        _wait(driver, lambda d: _pixels(d, ".abm-field") not in (b"", moved_field), "the other field drawn")
        screenshot(driver, "view-one-run-ifng")


def test_two_runs_side_by_side_share_the_time_axis(two_runs):
    need_browser()
    with served(*map(str, two_runs)) as url, chromium(width=1600, height=1000) as driver:
        _open(driver, url, runs=2)
        assert [t.split(",")[0] for t in _texts(driver, ".abm-step-label")] == ["step 20", "step 30"]
        screenshot(driver, "view-two-runs")
        # Snapshots at 0, 0.5, ... 2 h and 0, 0.5, ... 3 h: three steps back is 1.5 h for both.
        _step_back(driver, presses=3)
        _wait(driver, lambda d: [t.split(",")[0] for t in _texts(d, ".abm-step-label")] == ["step 15", "step 15"],
              "both runs at 1.5 h")
