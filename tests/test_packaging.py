"""Every Python package under abm/ ships: pyproject.toml lists it (an editable install would hide a
missing one; a wheel would lack it)."""
from __future__ import annotations

import tomllib

from run_helpers import ROOT


def test_every_package_directory_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "abm").rglob("__init__.py")}
    assert found <= listed, f"not in pyproject.toml packages: {sorted(found - listed)}"


def test_the_wheel_ships_the_kernels_the_shared_parameter_set_and_abm_testing(tmp_path):
    """What a user's plugin relies on from an installed (not editable) tissue-abm."""
    import subprocess
    import sys
    import zipfile

    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("tissue_abm-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("abm/parameter_sets/tissue_model.yaml", "abm/testing/__init__.py", "abm/testing/cuda_host.py",
                   "abm/kernels/neighbours.cu", "abm/kernels/cuda_host_shim.h"):
        assert needed in names, needed
