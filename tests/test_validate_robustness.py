"""The validation report's robustness column: each criterion's 2D result with the share of the
committed screening's design points where its claim holds (docs/sensitivity/<study>/robustness.csv)."""
from __future__ import annotations

from validate_helpers import synthetic_study

from abm.validate import report, robustness
from abm.validate.checks import evaluate
from abm.validate.design import criteria_path, load_criteria


def test_the_report_reads_robustness_from_the_screening(tmp_path, monkeypatch):
    folder = tmp_path / "lo2020"
    folder.mkdir()
    (folder / "robustness.csv").write_text(
        "criterion,kind,points,points_holding,points_not_measurable,share_holding\n"
        "clustered_cells_killed_less_per_contact,built-in,4,3,0,0.75\n"
        "nk_raise_polyclonal_share,prediction,4,1,2,0.25\n")
    monkeypatch.setattr(robustness, "SCREENING", tmp_path)
    design = load_criteria(criteria_path("lo2020"))
    checks = evaluate(design, design.title, synthetic_study("lo2020", n=6), {}, "2d", quick=False)
    rows = {c.criterion.id: row for c, row in zip(checks, report._rows(checks)[2:])}
    assert rows["clustered_cells_killed_less_per_contact"].endswith("| robust: 3 of 4 points |")
    assert rows["nk_raise_polyclonal_share"].endswith("| robust: 1 of 4 points (2 not measurable) |")
    assert rows["emt_restores_sensitivity"].endswith("| - (not screened) |")  # newer than the screening
    assert "robust: design points where the claim holds" in report._rows(checks)[0]
    assert "[robust: 3 of 4 points]" in report.table(checks)
    assert robustness.robust_text("lo2020", "clustered_cells_killed_less_per_contact", "3d") == "- (screened in 2D)"
    assert robustness.robust_text("correia2021", "baseline_dormancy") == "- (not screened)"  # no screening
    (tmp_path / "correia2021").mkdir()
    (tmp_path / "correia2021" / "robustness.csv").write_text("point,old readout\n0,1.0\n")  # not criteria's
    assert robustness.robust_text("correia2021", "baseline_dormancy") == "- (not screened)"


def test_metrics_csv_holds_every_studys_columns(tmp_path):
    """A study's stage read-outs (lung_seeding.<key>) only in its rows: the others leave them empty."""
    import csv

    results = {("chan2020", ()): {"no_nk": [{"seed": 500, "colonies": 3.0}]},
               ("nw2025_clustering", ("tcell.vcam1_binding",)): {
                   "wild_type": [{"seed": 500, "tumor_clustered_fraction": 0.9, "lung_seeding.seeded_lesions": 12.0}]}}
    report._write_metrics(tmp_path / "metrics.csv", results)
    with open(tmp_path / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["colonies"] == "3.0" and rows[0]["lung_seeding.seeded_lesions"] == ""
    assert rows[1]["lung_seeding.seeded_lesions"] == "12.0" and rows[1]["ablated"] == "tcell.vcam1_binding"
