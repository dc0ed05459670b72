"""Every CUDA source in kernels/ compiles to PTX with nvcc --fmad=false (no GPU needed)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

KERNELS = Path(__file__).resolve().parents[1] / "kernels"
SOURCES = sorted(KERNELS.glob("*.cu"))


def test_sources_exist():
    assert {p.name for p in SOURCES} >= {"neighbours.cu", "diffusion.cu", "counts.cu"}


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not found: cannot compile CUDA")
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_compiles_to_ptx_without_fma(source, tmp_path):
    ptx = tmp_path / (source.stem + ".ptx")
    result = subprocess.run(
        ["nvcc", "-ptx", "--fmad=false", "-std=c++17", "-o", str(ptx), str(source)],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = ptx.read_text()
    # --fmad=false: no contracted floating-point multiply-adds, as in the NumPy twins.
    assert "fma.rn.f" not in text and "mad.f" not in text
