"""Helpers for testing models and plugins: the GPU code path run on the CPU, and comparing runs.

A plugin's own tests import these (``from abm.testing import gpu_code_path_on_host``), as
tissue-abm's tests do; docs/extending.md, "Step 10: testing it", shows how.

- ``gpu_code_path_on_host()``: a context manager under which ``TissueModel(..., device="gpu")``
  runs the model's GPU code path without a GPU. The array module is a stand-in for CuPy that
  computes with NumPy, and every CUDA kernel (abm/kernels/*.cu) is compiled for the CPU with g++
  and launched thread by thread. A run must then equal the CPU run bit for bit; what this cannot
  check is races and speed, which need a real GPU. Needs g++ (``gxx_available()``).
- ``host_gpu``: the same as a pytest fixture (defined when pytest is importable).
- ``model_state(model)`` and ``assert_same_state(a, b)``: everything a run's outcome consists of
  (agents, lattice, fields, event totals), and the comparison bit for bit.
"""
from __future__ import annotations

import contextlib
import sys
import types

import numpy as np

from .cuda_host import gxx_available, host_launchers

__all__ = ["HostArrayModule", "assert_same_state", "gpu_code_path_on_host", "gxx_available", "model_state"]


class HostArrayModule(types.ModuleType):
    """Looks like a CuPy module to the model (it is not numpy), computes with NumPy."""

    cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(memGetInfo=lambda: (2**34, 2**34)))
    compile_target = "cudasim"  # per-cell kernels: their CUDA form, run by numba-cuda's simulator

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def asnumpy(array):
        return np.asarray(array)


@contextlib.contextmanager
def gpu_code_path_on_host():
    """Within it, device="gpu" runs the GPU code path with host-compiled CUDA kernels; the CPU
    backend is untouched. Restores everything on exit."""
    import abm.kernels
    from abm.core import backend, model

    launchers = {"_cuda": host_launchers()}
    saved_modules = {name: sys.modules.get(f"abm.kernels.{name}") for name in launchers}
    saved_attributes = {name: getattr(abm.kernels, name, None) for name in launchers}
    real_select = model.select_backend
    fake = backend.Backend("gpu", HostArrayModule("cupy_on_host"), "gpu code path on the host (g++)")
    try:
        for name, module in launchers.items():
            sys.modules[f"abm.kernels.{name}"] = module
            setattr(abm.kernels, name, module)
        model.select_backend = lambda device: fake if device == "gpu" else real_select(device)
        yield fake
    finally:
        model.select_backend = real_select
        for name in launchers:
            _restore_module(f"abm.kernels.{name}", saved_modules[name])
            if saved_attributes[name] is None:
                delattr(abm.kernels, name)
            else:
                setattr(abm.kernels, name, saved_attributes[name])


def _restore_module(key: str, module) -> None:
    if module is None:
        sys.modules.pop(key, None)
    else:
        sys.modules[key] = module


def model_state(model) -> tuple:
    """Everything a run's outcome consists of, on the host: agents, lattice, fields, event totals."""
    return model.agents_table(), model.lattice_snapshot(), model.field_snapshot(), dict(model.totals)


def assert_same_state(first: tuple, second: tuple) -> None:
    """Two model_state() results are identical, bit for bit (AssertionError naming what differs)."""
    (agents_a, lattice_a, fields_a, totals_a), (agents_b, lattice_b, fields_b, totals_b) = first, second
    assert totals_a == totals_b, f"event totals differ: {totals_a} vs {totals_b}"
    assert sorted(agents_a) == sorted(agents_b), "the agent columns differ"
    for column in agents_a:
        assert np.array_equal(agents_a[column], agents_b[column]), f"agent column {column} differs"
    for name, a, b in zip(("cell types", "cell states"), lattice_a, lattice_b):
        assert np.array_equal(a, b), f"lattice {name} differ"
    for name in fields_a:
        assert np.array_equal(fields_a[name], fields_b[name]), f"field {name} differs"


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is a test dependency, not a runtime one
    pytest = None

if pytest is not None:
    @pytest.fixture
    def host_gpu():
        """pytest fixture: the GPU code path on the host for the test (skips without g++)."""
        if not gxx_available():
            pytest.skip("g++ not found: the CUDA sources cannot be built for the host")
        with gpu_code_path_on_host() as fake:
            yield fake

    __all__.append("host_gpu")
