"""Every Python package under abm/ ships: pyproject.toml lists it (an editable install would hide a
missing one; a wheel would lack it)."""
from __future__ import annotations

import tomllib

from run_helpers import ROOT


def test_every_package_directory_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "abm").rglob("__init__.py")}
    assert found <= listed, f"not in pyproject.toml packages: {sorted(found - listed)}"
