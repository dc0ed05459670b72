"""abm bench at tiny sizes: the machinery and the JSON it writes, never the speed (no timing asserts)."""
from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from abm.bench import SECTIONS, PhaseTimer
from abm.cli import main
from abm.config.plugins import builtin_spec

ROOT = Path(__file__).resolve().parent.parent
MESA_AVAILABLE = importlib.util.find_spec("mesa") is not None and (ROOT / "benchmarks" / "mesa_reference.py").is_file()


def positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """One tiny run of every section through the command line: (results, json path, plot path)."""
    folder = tmp_path_factory.mktemp("bench")
    out, plot = folder / "results.json", folder / "scaling.png"
    assert main(["bench", "--tiny", "--device", "cpu", "--out", str(out), "--plot", str(plot)]) == 0
    return json.loads(out.read_text()), out, plot


def test_run_description(bench):
    results, _, _ = bench
    assert results["sections"] == list(SECTIONS)
    for key in ("date", "command", "git_commit", "backend", "device_slug", "package_version"):
        assert isinstance(results[key], str) and results[key]
    assert results["device"] == "cpu" and results["device_slug"].startswith("cpu-")
    host = results["host"]
    for key in ("cpu", "python", "numpy", "numba", "cupy", "mesa"):
        assert key in host
    assert positive(host["cores"]) and positive(results["peak_rss_bytes"])


def test_startup_times_whole_commands(bench):
    startup = bench[0]["startup"]
    assert not startup["skipped"], startup["skipped"]
    assert [row["name"] for row in startup["rows"]] == ["first_step", "info", "help"]
    for row in startup["rows"]:
        assert row["repeats"] == len(row["seconds"]) == len(row["cpu_seconds"]) == 1
        assert all(positive(s) for s in row["seconds"] + row["cpu_seconds"])
        assert row["min_s"] <= row["median_s"] and row["command"].startswith("abm ")
    first_step = startup["rows"][0]
    assert "configs/default.yaml" in first_step["command"] and "first step" in first_step["what"]


def test_minimal_rules_and_mesa(bench):
    rows = bench[0]["minimal"]["rows"]
    assert len(rows) == 2
    for row in rows:
        for key in ("sites", "agents", "steps", "seconds", "steps_per_s", "agent_steps_per_s"):
            assert positive(row[key]), key
        if MESA_AVAILABLE:
            assert positive(row["mesa"]["agent_steps_per_s"]) and row["mesa_skipped"] is None
            assert row["ratio_ours_over_mesa"] == pytest.approx(row["agent_steps_per_s"] /
                                                                row["mesa"]["agent_steps_per_s"])
        else:
            assert row["mesa"] is None and row["ratio_ours_over_mesa"] is None and row["mesa_skipped"]


def test_diffusion(bench):
    diffusion = bench[0]["diffusion"]
    assert len(diffusion["rows"]) == 2 and diffusion["bytes_model"]
    for row in diffusion["rows"]:
        assert positive(row["voxel_updates_per_s"]) and positive(row["achieved_GB_per_s"])
        assert row["bytes_per_step"] == 4 * 4 * row["sites"] * 3
        assert row["percent_of_peak"] is None  # CPU: no peak figure
    assert diffusion["peak_GB_per_s"] is None and diffusion["peak_unavailable"]


def test_scenarios(bench):
    scenarios = bench[0]["scenarios"]
    names = {(row["name"], row["ndim"]) for row in scenarios["rows"]}
    assert {("chan2020_organoid", 2), ("correia2021_liver", 2)} <= names
    assert ("correia2021_liver", 3) in names or any(s["shape"] == [12, 12, 12] and s["reason"]
                                                   for s in scenarios["skipped"])
    for row in scenarios["rows"]:
        assert positive(row["steps_per_s"]) and positive(row["agents"]) and positive(row["sites"])


def test_phases_add_up_to_the_step(bench):
    profiles = bench[0]["phases"]
    assert [p["name"] for p in profiles] == ["minimal_rules", "correia2021_liver"]
    for profile in profiles:
        called = {name: f for name, f in profile["phases"].items() if f["calls_per_step"]}
        assert called and all(f["seconds_per_step"] >= 0 for f in called.values())
        assert positive(profile["step_seconds"])
        assert profile["phases_sum_seconds"] <= profile["step_seconds"] * (1 + 1e-9)
        assert profile["phases_sum_seconds"] == pytest.approx(sum(f["seconds_per_step"] for f in called.values()))
    general = profiles[1]["phases"]  # the liver runs the general step: every phase once per step
    for name in ("sense", "decide", "resolve", "diffuse"):
        assert general[name]["calls_per_step"] == 1


def test_memory(bench):
    for report in bench[0]["memory"]:
        assert report["per_site_bytes"]["occupancy"] == 4 and report["per_site_bytes"]["claim_scratch"] == 8
        assert report["per_agent_bytes"]["columns"] == sum(d.itemsize for d in builtin_spec().column_dtypes.values())
        assert positive(report["per_agent_bytes"]["neighbour_tables"]) and positive(report["peak_rss_bytes"])
    liver = bench[0]["memory"][1]
    assert liver["per_site_bytes"]["fields"] == 4 * len(liver["fields_bytes"]) > 0


def test_scaling_and_plot(bench):
    results, out, plot = bench
    for series in ("minimal rules", "diffusion"):
        fit = results["scaling"][series]
        assert fit["points"] == 2 and math.isfinite(fit["slope_all"]) and math.isfinite(fit["slope_largest_pair"])
    assert results["plot"] == str(plot)
    assert plot.stat().st_size > 0 and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_only_one_section_without_mesa(tmp_path):
    out = tmp_path / "r.json"
    assert main(["bench", "--tiny", "--device", "cpu", "--only", "minimal", "--no-mesa", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["sections"] == ["minimal"] and "diffusion" not in results and "phases" not in results
    assert all(row["mesa"] is None and "--no-mesa" in row["mesa_skipped"] for row in results["minimal"]["rows"])
    assert (tmp_path / "r.png").stat().st_size > 0  # default plot path: beside the JSON


def test_help_and_errors(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["bench", "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "--quick" in text and "--no-mesa" in text and "voxel_updates_per_s" in text
    assert main(["bench", "--only", "minimal,bogus"]) == 2
    assert "bogus" in capsys.readouterr().err
    wrapper = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--help"],
                             capture_output=True, text=True, timeout=120)
    assert wrapper.returncode == 0 and "--quick" in wrapper.stdout


def test_phase_timer_counts_nested_calls_once():
    class Model:
        def step(self):
            self.outer()
            self.plain()

        def outer(self):
            self.inner()

        def inner(self):
            sum(range(20000))

        def plain(self):
            pass

    model = Model()
    model.fast = lambda: None  # an instance attribute is restored afterwards
    fast = model.fast
    timer = PhaseTimer(model, ["outer", "inner", "plain", "fast"])
    model.step()
    timer.remove()
    assert timer.calls == {"outer": 1, "inner": 1, "plain": 1, "fast": 0}
    assert all(seconds >= 0 for seconds in timer.seconds.values()) and timer.seconds["inner"] > 0
    assert model.fast is fast and "outer" not in model.__dict__


def test_missing_mesa_reference_gives_a_reason(monkeypatch, tmp_path):
    from abm.bench import measure

    monkeypatch.setattr(measure, "repo_root", lambda: tmp_path)
    module, reason = measure.load_mesa_reference()
    assert module is None and "not found" in reason


def test_results_say_they_are_complete(bench):
    assert bench[0]["complete"] is True


def test_large_runs(bench):
    results, _, _ = bench
    rows = results["large"]["rows"]
    assert rows and rows[0]["shape"] == [16, 16, 16] and rows[0]["agents"] > 0
    assert rows[0]["steps_per_s"] > 0 and rows[0]["memory"]["per_site_bytes"]["fields"] > 0
