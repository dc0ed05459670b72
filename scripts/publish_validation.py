#!/usr/bin/env python
"""Copy a full validation report into docs/: report.md -> docs/validation.md (figure links into
docs/validation/, the machine named), metrics.csv and the figures -> docs/validation/.

    python scripts/publish_validation.py runs/validate-full
"""
from __future__ import annotations

import platform
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    source = Path((argv or sys.argv[1:] or ["runs/validate-full"])[0])
    report = (source / "report.md").read_text()
    machine = (f"Machine: {platform.machine()} CPU, {len(__import__('os').sched_getaffinity(0))} cores, NumPy "
               f"backend (`--device cpu`), Python {platform.python_version()}. Runs whose complete output already "
               "existed for the same resolved config were reused, not rerun.")
    lines = report.splitlines()
    lines.insert(3, machine)
    text = "\n".join(lines).replace("](", "](validation/").replace("(per-run values: `metrics.csv`)",
                                                                   "(per-run values: [`validation/metrics.csv`]"
                                                                   "(validation/metrics.csv))")
    (ROOT / "docs" / "validation.md").write_text(text + "\n")
    target = ROOT / "docs" / "validation"
    target.mkdir(exist_ok=True)
    for path in [source / "metrics.csv", *sorted(source.glob("*.png"))]:
        shutil.copy(path, target / path.name)
    print(f"wrote docs/validation.md and docs/validation/ from {source}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
