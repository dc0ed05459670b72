"""README.md's performance table is generated from committed benchmark results; it must be current."""
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("performance_table", ROOT / "scripts" / "performance_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_performance_table_is_generated_from_the_results():
    generator = _generator()
    assert generator.main(["--check"]) == 0


def test_results_files_say_where_and_how_they_were_measured():
    for source in _generator().RESULTS:
        results = json.loads((ROOT / source).read_text())
        assert results["date"] and results["command"].startswith("abm bench") and results["git_commit"]
        assert results["host"]["cpu"] and results["backend"]
