"""`abm validate --from-metrics`: the criteria judged again on a report's saved per-run values."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from abm.errors import ConfigError
from abm.validate import report, runner
from abm.validate.saved import read_metrics

ROOT = Path(__file__).resolve().parents[1]
INTERIM = ROOT / "docs" / "validation" / "interim-2026-12-07-five-studies"


def _table_rows(lines):
    """The criteria table's rows without the robustness column (the screening was redone since),
    and with the count model's name as "count GLM": the report was written when a negative binomial
    fit whose dispersion ran to 0 was kept or not by the optimiser's convergence flag, which differs
    between machines (inference.NO_OVERDISPERSION); the numbers are the same either way."""
    rows = [line for line in lines if line.startswith("| ")]
    rows = rows[next(i for i, line in enumerate(rows) if line.startswith("| result")):]
    rows = [re.sub(r" \(no overdispersion: [^)]*\)", "", re.sub(r"(negative binomial|Poisson) GLM", "count GLM", row))
            for row in rows]
    return ["|".join(row.split("|")[:-2]) for row in rows]


def test_the_committed_interim_report_is_made_again_from_its_metrics():
    """Read back, the 1,500 runs of the five-study interim give its summary and every row of its
    table: the file holds what the report was computed from, and the reader loses nothing."""
    results = read_metrics([INTERIM / "metrics.csv"])
    assert sum(len(runs) for arms in results.values() for runs in arms.values()) == 1500
    assert [run["seed"] for run in results[("lo2020", ())]["with_nk"]] == list(range(500, 530))
    checks = runner.check(results)
    committed = (INTERIM / "report.md").read_text().splitlines()
    assert report.summary(checks) in committed
    assert _table_rows(report._rows(checks)) == _table_rows(committed)


def _write(path, rows):
    path.write_text("study,arm,seed,ablated,lesions\n" + "".join(f"{r}\n" for r in rows))
    return path


def test_a_run_in_two_files_is_refused(tmp_path):
    a = _write(tmp_path / "a.csv", ["lo2020,with_nk,500,,3"])
    b = _write(tmp_path / "b.csv", ["lo2020,with_nk,500,,4"])
    with pytest.raises(ConfigError, match="seed 500 appears twice"):
        read_metrics([a, b])


def test_a_value_that_is_not_a_number_names_its_file_line_and_column(tmp_path):
    bad = _write(tmp_path / "bad.csv", ["lo2020,with_nk,500,,3", "lo2020,with_nk,501,,many"])
    with pytest.raises(ConfigError, match=r"bad.csv: line 3, column lesions: 'many' is not a number"):
        read_metrics([bad])


def test_runs_of_a_control_and_empty_cells(tmp_path):
    path = _write(tmp_path / "m.csv", ["lo2020,with_nk,501,,3", "lo2020,with_nk,500,,", "lo2020,with_nk,500,nk.contact_kill,7"])
    results = read_metrics([path])
    assert results[("lo2020", ())]["with_nk"] == [{"seed": 500}, {"lesions": 3.0, "seed": 501}]
    assert results[("lo2020", ("nk.contact_kill",))]["with_nk"] == [{"lesions": 7.0, "seed": 500}]


def test_not_a_metrics_file(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    done = subprocess.run([sys.executable, "-m", "abm", "validate", "--from-metrics", str(other), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert "other.csv: not a validation metrics.csv (no column 'study')" in done.stderr
    assert "Traceback" not in done.stderr
