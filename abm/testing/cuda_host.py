"""Run the CUDA kernels (abm/kernels/*.cu, kernels/ in the repository) on the CPU, with g++.

Each .cu source is compiled with g++ through kernels/cuda_host_shim.h, together with a small
generated launcher per kernel that loops over (block, thread) and calls the kernel, and is
loaded with ctypes. ``host_launchers()`` returns kernels/_cuda.py itself, loaded with a stand-in
for CuPy whose arrays are NumPy arrays and whose RawModule is this compiler, so the tests
exercise the real launchers (argument types, shapes, grid sizes) as well as the kernels.

The stand-in is stricter than CuPy where CuPy would fail silently: every pointer argument must
be a C-contiguous array of the parameter's dtype (writeable unless const), every scalar a NumPy
scalar of the parameter's exact type, and RawModule must be built with --fmad=false.
"""
from __future__ import annotations

import atexit
import ctypes
import functools
import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

import abm.kernels as abm_kernels

KERNELS = Path(abm_kernels.__file__).resolve().parent  # the .cu sources ship inside abm.kernels
SHIM = KERNELS / "cuda_host_shim.h"
GXX_FLAGS = ("-O1", "-shared", "-fPIC", "-ffp-contract=off")

_KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)')
_DTYPES = {  # C parameter type -> NumPy dtype
    "bool": np.bool_, "signed char": np.int8, "int": np.int32, "unsigned int": np.uint32,
    "long long": np.int64, "unsigned long long": np.uint64, "float": np.float32,
    "double": np.float64,
}


def gxx_available() -> bool:
    return shutil.which("g++") is not None


@functools.lru_cache(maxsize=None)
def _build_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="abm_cuda_host_"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def kernel_signatures(code: str) -> dict[str, list[tuple[str, bool, bool, str]]]:
    """{kernel: [(C base type, is pointer, is const, name), ...]} of every extern "C" kernel."""
    kernels = {}
    for name, params in _KERNEL.findall(code):
        parsed = []
        for param in params.split(","):
            words = param.replace("*", " * ").split()
            base = " ".join(w for w in words[:-1] if w not in ("const", "*", "__restrict__"))
            parsed.append((base, "*" in words, "const" in words, words[-1]))
        kernels[name] = parsed
    return kernels


@functools.lru_cache(maxsize=None)
def compile_source(code: str) -> dict[str, "HostKernel"]:
    """Compile CUDA source text for the CPU; {kernel name: HostKernel}."""
    signatures = kernel_signatures(code)
    stem = hashlib.sha1(code.encode()).hexdigest()[:16]
    build = _build_dir()
    (build / f"{stem}.cu").write_text(code)
    launchers = [f'#include "{stem}.cu"']
    for name, params in signatures.items():
        c_params = ", ".join(f"{'const ' if const else ''}{base}{'*' if ptr else ''} {arg}"
                             for base, ptr, const, arg in params)
        call = ", ".join(arg for *_, arg in params)
        launchers.append(
            f'extern "C" void host_launch_{name}(unsigned int grid, unsigned int block, '
            f"{c_params}) {{\n"
            f"    gridDim.x = grid; blockDim.x = block;\n"
            f"    for (unsigned int b = 0; b < grid; ++b)\n"
            f"        for (unsigned int t = 0; t < block; ++t) {{\n"
            f"            blockIdx.x = b; threadIdx.x = t; {name}({call});\n"
            f"        }}\n}}")
    (build / f"{stem}_launch.cpp").write_text("\n\n".join(launchers) + "\n")
    library = build / f"{stem}.so"
    subprocess.run(["g++", *GXX_FLAGS, "-include", str(SHIM), "-x", "c++",
                    str(build / f"{stem}_launch.cpp"), "-o", str(library)],
                   check=True, capture_output=True, text=True)
    lib = ctypes.CDLL(str(library))
    return {name: HostKernel(name, params, getattr(lib, f"host_launch_{name}"))
            for name, params in signatures.items()}


def compile_file(path) -> dict[str, "HostKernel"]:
    return compile_source(Path(path).read_text())


class HostKernel:
    """Callable like a CuPy RawKernel: kernel(grid, block, args)."""

    def __init__(self, name, params, function):
        self.name, self.params, self.function = name, params, function
        function.restype = None
        function.argtypes = [ctypes.c_uint, ctypes.c_uint] + [
            ctypes.c_void_p if ptr else np.ctypeslib.as_ctypes_type(_DTYPES[base])
            for base, ptr, _, _ in params]

    def __call__(self, grid, block, args):
        if len(args) != len(self.params):
            raise TypeError(f"{self.name}: {len(self.params)} arguments expected, got {len(args)}")
        values = []
        for (base, ptr, const, arg), value in zip(self.params, args):
            dtype = np.dtype(_DTYPES[base])
            where = f"{self.name}({arg}: {'const ' if const else ''}{base}{'*' if ptr else ''})"
            if ptr:
                if not (isinstance(value, np.ndarray) and value.dtype == dtype
                        and value.flags.c_contiguous):
                    raise TypeError(f"{where}: need a C-contiguous {dtype} array, got "
                                    f"{type(value).__name__} {getattr(value, 'dtype', '')}")
                if not const and not value.flags.writeable:
                    raise TypeError(f"{where}: output array is read-only")
                values.append(value.ctypes.data)
            else:
                if not (isinstance(value, np.generic) and value.dtype == dtype):
                    raise TypeError(f"{where}: need a numpy {dtype} scalar, got "
                                    f"{type(value).__name__}")
                values.append(value.item())
        self.function(_dim(grid), _dim(block), *values)


def _dim(value) -> int:
    value = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if any(v != 1 for v in value[1:]):
        raise ValueError("the host launcher runs 1-D grids and blocks only")
    return int(value[0])


class HostRawModule:
    """Stand-in for cupy.RawModule, compiling with g++."""

    def __init__(self, code, options=()):
        if "--fmad=false" not in options:
            raise ValueError("RawModule must be built with --fmad=false")
        self.kernels = compile_source(code)

    def get_function(self, name):
        return self.kernels[name]


class _HostCupy(types.ModuleType):
    """Just enough of CuPy for kernels/_cuda.py: NumPy arrays plus HostRawModule."""

    RawModule = HostRawModule
    cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDevice=lambda: 0))

    def __getattr__(self, name):
        return getattr(np, name)


@functools.lru_cache(maxsize=None)
def host_launchers():
    """kernels/_cuda.py loaded against the host stand-in for CuPy (real CuPy untouched)."""
    return host_module("_cuda")


@functools.lru_cache(maxsize=None)
def host_module(name: str, cupy_stand_in=None):
    """kernels/<name>.py, a module of CuPy launchers, loaded against a host stand-in for CuPy
    (by default NumPy plus HostRawModule; the repository's tests/host_syncs.py passes one that counts)."""
    stand_in = _HostCupy("cupy") if cupy_stand_in is None else cupy_stand_in
    spec = importlib.util.spec_from_file_location(f"{name}_on_{stand_in.__name__}", KERNELS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("cupy")
    sys.modules["cupy"] = stand_in
    try:
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            del sys.modules["cupy"]
        else:
            sys.modules["cupy"] = saved
    return module
