#!/usr/bin/env python
"""Copy sensitivity outputs into docs/sensitivity/<study>/ (report, indices, read-outs, design,
plot; the runs stay in runs/) and rewrite the summary table of docs/sensitivity/README.md (below
its `<!-- table -->` line) from the studies' reports.

    python scripts/publish_sensitivity.py runs/sensitivity runs/sensitivity-quick
"""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "sensitivity"
FILES = ("report.md", "indices.csv", "readouts.csv", "design.csv", "indices.png", "robustness.csv")
ORDER = ("chan2020", "lo2020", "correia2021", "szczerba2019", "nw2025_seeding", "nw2025_clustering")
MARKER = "<!-- table -->"


def copy(source: Path) -> list[str]:
    copied = []
    for study in sorted(p for p in source.iterdir() if (p / "report.md").is_file()):
        target = DOCS / study.name
        target.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            if (study / name).is_file():
                shutil.copy(study / name, target / name)
        copied.append(study.name)
    return copied


def rows() -> list[str]:
    out = ["| study | conclusion | kind | verdict over the ±2x range | main drivers (Morris mu*) |",
           "|---|---|---|---|---|"]
    for study in ORDER:
        report = DOCS / study / "report.md"
        if not report.is_file():
            continue
        text = report.read_text()
        block = text[text.index("## Conclusions"):text.index("## Read-outs")]
        for line in block.splitlines():
            if not line.startswith("| ") or line.startswith("| conclusion"):
                continue
            conclusion, kind, _readout, _target, verdict, drivers = [c.strip() for c in line.strip("|").split("|")][:6]
            drivers = re.sub(r" \([^)]*\)", "", drivers)  # the report has the values at flips and holds
            out.append(f"| [{study}]({study}/report.md) | {conclusion} | {kind} | {verdict} | {drivers} |")
    return out


def main(argv=None) -> int:
    sources = [Path(a) for a in (argv or sys.argv[1:] or ["runs/sensitivity"])]
    for source in sources:
        for name in copy(source):
            print(f"docs/sensitivity/{name}", file=sys.stderr)
    readme = DOCS / "README.md"
    head = readme.read_text().split(MARKER)[0]
    readme.write_text(head + MARKER + "\n\n" + "\n".join(rows()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
