"""Array backend: NumPy on the CPU, CuPy on a CUDA GPU, chosen once per run.

Everything in the model is written against the module returned here (``xp``), so the two
backends share one code path; kernels dispatch to CUDA when handed CuPy arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class Backend:
    name: str  # "cpu" or "gpu"
    xp: object  # numpy or cupy
    description: str

    def to_host(self, array):
        """Copy an array to host memory as NumPy (no copy for NumPy arrays)."""
        if self.xp is np:
            return array
        return self.xp.asnumpy(array)

    def asarray(self, array, dtype=None):
        return self.xp.asarray(array, dtype=dtype)

    def available_memory_bytes(self) -> int:
        if self.xp is np:
            return _host_available_memory()
        free, _total = self.xp.cuda.runtime.memGetInfo()
        return int(free)


def _host_available_memory() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _cupy_if_usable():
    try:
        import cupy
    except Exception:  # not installed, or a broken CUDA install
        return None, "CuPy is not installed"
    try:
        if not cupy.is_available():
            return None, "CuPy found no usable CUDA GPU"
        cupy.zeros(1).sum()  # touch the device once: driver problems surface here, not mid-run
    except Exception as error:  # noqa: BLE001 - any CUDA failure means "not usable"
        return None, f"CUDA GPU not usable ({error.__class__.__name__}: {error})"
    return cupy, ""


def _cpu_kernels() -> str:
    from ..kernels import _numba

    return f"NumPy + {_numba.describe()}" if _numba.enabled() else f"NumPy only: {_numba.WHY_NOT}"


def select_backend(device: str = "auto") -> Backend:
    """'cpu', 'gpu' or 'auto' (GPU when CuPy finds one, else CPU)."""
    if device == "cpu":
        return Backend("cpu", np, f"cpu ({_cpu_kernels()})")
    if device not in ("gpu", "auto"):
        raise ConfigError(f"device: must be auto, cpu or gpu, got {device!r}")
    cupy, why_not = _cupy_if_usable()
    if cupy is not None:
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        return Backend("gpu", cupy, f"gpu (CuPy {cupy.__version__}, {name})")
    if device == "gpu":
        raise ConfigError(f"device: gpu was requested but {why_not}; use --device cpu or auto")
    return Backend("cpu", np, f"cpu ({_cpu_kernels()}; auto: {why_not})")
