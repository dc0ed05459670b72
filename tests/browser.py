"""Browser tests: serve `abm view ...` in a child process and drive Debian's Chromium with selenium.

`scripts/setup_browser.sh` installs chromium and chromium-driver (CI runs it). Without them a
browser test skips with the reason, except under CI (CI=true), where it fails: the browser test
is part of what CI checks. Screenshots go to runs/test-artifacts/ (ABM_TEST_ARTIFACTS overrides).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(os.environ.get("ABM_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "runs" / "test-artifacts"))


def need_browser():
    """Skip (fail under CI) when selenium, Debian's Chromium and its driver, or Solara's cached
    browser assets are missing."""
    missing = [what for what, ok in (("selenium", _has_selenium()), ("chromium", _chromium() is not None),
                                     ("chromium-driver", Path(CHROMEDRIVER).exists())) if not ok]
    message = f"browser test needs {', '.join(missing)} (bash scripts/setup_browser.sh)" if missing else None
    if message is None and _solara_assets_missing():  # with no internet Solara's page stays blank without them
        message = f"browser test needs Solara's browser assets {', '.join(_solara_assets_missing())} " \
                  "(python -m abm.view.assets)"
    if message:
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _solara_assets_missing() -> list[str]:
    from abm.view import assets

    return assets.missing()


def _has_selenium() -> bool:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return True


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(*abm_args: str, timeout_s: float = 90.0):
    """Run `abm view ABM_ARGS --no-browser --port P` and yield its URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "abm", "view", *abm_args, "--no-browser", "--port", str(port)]
    log = ARTIFACTS / f"server-{port}.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            _wait_for(url, server, timeout_s, log)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_for(url: str, server: subprocess.Popen, timeout_s: float, log: Path):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"abm view exited with {server.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"abm view did not answer at {url} within {timeout_s} s: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 1000):
    """A headless Chromium driven by selenium through Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _chromium()
    # --enable-unsafe-swiftshader: WebGL (the viewer's 3D view) on the CPU, which headless Chromium
    # without a GPU otherwise only falls back to with a deprecation warning.
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--enable-unsafe-swiftshader", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, name: str) -> Path:
    """Save the page as runs/test-artifacts/NAME.png and return the path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
