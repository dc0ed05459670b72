"""Compiling a composed phase (compose.Program) for a target.

- "cpu": numba, a loop over the type's cells; each iteration writes only its own cell's outputs,
  so the loop runs in parallel (`prange`) from PARALLEL_FROM cells on and serially below it (a
  thread pool costs more than it saves on a few thousand cells, and compiling a parallel loop
  takes twice as long): the same results either way, whatever the thread count.
- "python": the same source run by the interpreter: the reference the compiled targets are
  tested against (also what NUMBA_DISABLE_JIT=1 gives).
- "cuda": numba-cuda, a grid-stride loop over the cells, called on CuPy arrays through
  `__cuda_array_interface__`; `fastmath` stays off, so no multiply-add is contracted and
  float32 arithmetic rounds as on the CPU.
- "cudasim": the same CUDA kernel run by numba-cuda's simulator (threads in Python): the GPU code
  path on the host (abm/testing `gpu_code_path_on_host`).

CPU kernels are compiled without numba's reference counting (`_nrt=False`): they never allocate, and
with counting on, every call to a rule or helper from a kernel's loop took and dropped a count on each
array it passed, atomically, per cell (kernels/_numba.jitable).

Compiled functions are kept per (source, target) in the process. On the CPU they are also kept on
disk: the composed source is written as a module named by a hash of itself and of every source
file its rules come from (abm's own and the plugins'), and numba caches its machine code beside
it (`ABM_KERNEL_CACHE`, default ~/.cache/tissue-abm/kernels). A new process with the same rules
loads the kernel instead of compiling it again; a change to any rule's module is a new name.
"""
from __future__ import annotations

import hashlib
import importlib.util
import re
import os
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..kernels import _numba  # noqa: F401 - sets the threads' wait policy before any parallel loop
from . import scalar

LOOPS = {"cpu": "prange", "python": "range"}  # "cuda" and "cudasim": a grid-stride loop
PARALLEL_FROM = 20_000  # cells of a type from which its CPU kernel runs on all threads
HELPERS = ("philox", "as_threshold", "hill", "happens", "happens_with", "atomic_min", "atomic_add")
_compiled: dict = {}
_program_of: dict = {}


def _namespace(program, target: str) -> dict:
    namespace = {"np": np, "range": range, **{name: getattr(scalar, name) for name in HELPERS}}
    namespace.update(program.namespace)
    if target == "cpu":
        from numba import prange
        namespace["prange"] = prange
    return namespace


_LOOP = re.compile(r"for (\w+) in (LOOP|SERIAL)\((.+)\):")


def for_target(source: str, target: str) -> str:
    """A kernel's source for a target: `for i in LOOP(n)` (cells independent: parallel on the CPU
    from PARALLEL_FROM cells) and `for i in SERIAL(n)` (cells meet in a claim buffer: serial on the
    CPU) become grid-stride loops on the GPU, where atomic_min / atomic_add become CUDA atomics."""
    if target in ("cuda", "cudasim"):
        source = _LOOP.sub(r"for \1 in range(cuda.grid(1), \3, cuda.gridsize(1)):", source)
        return source.replace("atomic_min(", "cuda.atomic.min(").replace("atomic_add(", "cuda.atomic.add(")
    return source.replace("LOOP(", f"{LOOPS[target]}(").replace("SERIAL(", "range(")


def _source(program, target: str) -> str:
    source = for_target(program.source, target)
    if target == "cpu" and program.phase in ("decide", "secrete"):
        source = _parameters_from_records(source, ["p", *(f"p_{t}" for t in program.other_params)])
    return source


def _parameters_from_records(source: str, names: list[str]) -> str:
    """A type's kernel for the CPU takes its parameters as one-element record arrays
    (params.params_record): `p` arrives as `p_record` and each cell reads `p = p_record[0]` (a
    pointer: inside the loop, as numba's parallel loops cannot take a record from outside)."""
    head, loop, body = source.split("\n", 2)
    start, _, rest = head.partition("(")
    parameters = [f"{name}_record" if name in names else name for name in rest.rstrip("):").split(", ")]
    reads = "".join(f"        {name} = {name}_record[0]\n" for name in names)
    return f"{start}({', '.join(parameters)}):\n{loop}\n{reads}{body}"


def kernel_function(program, target: str):
    """The program's loop as a Python function written for `target` (not yet compiled)."""
    namespace = _namespace(program, target)
    if target in ("cuda", "cudasim"):
        from numba import cuda
        namespace["cuda"] = cuda  # the simulator swaps in its own while a simulated kernel runs
    exec(compile(_source(program, target), f"<{program.phase} {program.type_name}>", "exec"), namespace)
    return namespace[program.function_name]


def compile_program(program, target: str):
    """The callable of a program on a target: f(slots, seed_lo, seed_hi, step, dt_min, p, *arrays, *outputs)."""
    on_target = program.__dict__.setdefault("compiled_on", {})  # the step asks every launch: answer at once
    if target in on_target:
        return on_target[target]
    key = (_source(program, target), target, tuple(sorted((k, id(v)) for k, v in program.namespace.items())))
    if key in _compiled:
        on_target[target] = _compiled[key]
        return _compiled[key]
    if target == "cpu":
        function = CpuKernel(*(_cached_cpu_kernel(program) or _in_memory(program)), program.serial)
    elif target == "cuda":
        from numba import cuda
        without_contraction()
        function = cuda.jit(kernel_function(program, target))
    elif target == "cudasim":
        from numba.cuda.simulator import api as simulator
        function = simulator.jit(kernel_function(program, target))
    else:
        function = kernel_function(program, target)
    _compiled[key] = on_target[target] = function
    _program_of[id(function)] = program
    return function


def without_contraction() -> None:
    """Compile CUDA kernels with NVVM's -fma=0. Without fastmath numba-cuda passes NVVM no `fma`
    option, and NVVM's default (-fma=1, like nvcc's --fmad=true) contracts a float32 a * b + c into
    one fused multiply-add, rounded once: the CPU rounds twice, so the GPU's bits would differ. The
    project's CUDA C kernels are built with --fmad=false for the same reason."""
    from numba.cuda.cudadrv import nvvm

    if getattr(nvvm.compile_ir, "without_contraction", False):
        return
    compile_ir = nvvm.compile_ir

    def compile_without_contraction(llvmir, **options):
        if not options.get("fastmath"):
            options.setdefault("fma", False)
        return compile_ir(llvmir, **options)

    compile_without_contraction.without_contraction = True
    nvvm.compile_ir = compile_without_contraction


def program_of(function):
    """The program a compiled callable was made from (None for the fixed resolve kernels)."""
    return _program_of.get(id(function))


class CpuKernel:
    """The serial and the parallel compilation of one loop; each is compiled on its first call."""

    def __init__(self, serial, parallel, serial_only=False):
        self.serial, self.parallel, self.serial_only = serial, parallel, serial_only

    def __call__(self, cells, *arguments):
        """`cells`: the slots the loop runs over, or their number."""
        count = cells if isinstance(cells, (int, np.integer)) else cells.shape[0]
        kernel = self.parallel if count >= PARALLEL_FROM and not self.serial_only else self.serial
        return kernel(cells, *arguments)


def _in_memory(program):
    from numba import njit
    function = kernel_function(program, "cpu")
    return njit(_nrt=False)(function), njit(parallel=True, _nrt=False)(function)


# ---------------------------------------------------------------- the on-disk cache of CPU kernels


def cache_folder() -> Path:
    return Path(os.environ.get("ABM_KERNEL_CACHE") or Path.home() / ".cache" / "tissue-abm" / "kernels")


@lru_cache(maxsize=None)
def _file_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@lru_cache(maxsize=1)
def _package_digest() -> str:
    """Every source file of the package (rules call helpers across modules: any change counts)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + _file_digest(str(path)).encode())
    import numba
    digest.update(f"numba {numba.__version__} python {sys.version_info[:2]}".encode())
    return digest.hexdigest()


def _importable(function):
    """(module, name, attribute) under which the function can be imported again, or None: the
    function itself, or the declaration a decorator made of it (`.function` of a CellRule)."""
    module, name = getattr(function, "__module__", None), getattr(function, "__qualname__", "")
    if not module or "<" in name or "." in name or module == "__main__":
        return None
    loaded = sys.modules.get(module)
    if loaded is None or not getattr(loaded, "__file__", None):
        return None
    found = getattr(loaded, name, None)
    if found is function:
        return module, name, ""
    if getattr(found, "function", None) is function:
        return module, name, ".function"
    return None


def _cached_cpu_kernel(program):
    """(serial, parallel) kernels from a generated module numba caches on disk; None where a rule
    cannot be imported by name (defined in a function, or in __main__): then compiled in memory."""
    imports = []
    digest = hashlib.sha256(_source(program, "cpu").encode() + _package_digest().encode())
    for alias, function in sorted(program.namespace.items()):
        found = _importable(function)
        if found is None:
            return None
        module, name, attribute = found
        imports.append(f"from {module} import {name} as _{alias}")
        imports.append(f"{alias} = _{alias}{attribute}")
        digest.update(f"{module}.{name}".encode() + _file_digest(sys.modules[module].__file__).encode())
    name = f"abm_kernel_{program.phase}_{program.type_name}_{digest.hexdigest()[:20]}"
    folder = cache_folder()
    path = folder / f"{name}.py"
    if not path.exists():
        source = _source(program, "cpu")
        name_serial, name_parallel = program.function_name, f"{program.function_name}_parallel"
        text = "\n".join([f'"""Composed by abm.engine: {program.type_name} {program.phase} (generated; do not edit)."""',
                          "import numpy as np", "from numba import njit, prange",
                          f"from abm.engine.scalar import {', '.join(HELPERS)}", *imports, "", "",
                          source.replace(f"def {name_serial}(", f"@njit(cache=True, _nrt=False)\ndef {name_serial}(", 1), "",
                          source.replace(f"def {name_serial}(", f"@njit(parallel=True, cache=True, _nrt=False)\ndef {name_parallel}(", 1)])
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".{name}.{os.getpid()}.tmp"
            partial.write_text(text)
            partial.replace(path)  # atomic: a concurrent process sees the whole file or none
        except OSError:
            return None  # no writable cache: compile in memory
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # numba's cache finds the kernel's globals by its module's name
    spec.loader.exec_module(module)
    return getattr(module, program.function_name), getattr(module, f"{program.function_name}_parallel")


# ---------------------------------------------------------------- choosing a target, launching


def target_of(xp) -> str:
    """The compile target of a backend's arrays: numba on NumPy (plain Python with ABM_NUMBA=0), CUDA
    on CuPy, the CUDA simulator on the GPU code path run on the host (its array module says so)."""
    if xp is np:
        return "cpu" if _numba_enabled() else "python"
    return getattr(xp, "compile_target", "cuda")


@lru_cache(maxsize=1)
def _numba_enabled() -> bool:
    from ..kernels import _numba
    return _numba.enabled()


def launch(function, target: str, arguments: tuple, n: int, xp) -> None:
    """One kernel launch over n cells. On CuPy arrays: CuPy's current stream, and no wait for the
    arrays' streams (numba would otherwise synchronise on each array it is handed)."""
    if target in ("cuda", "cudasim"):
        threads = 128
        blocks = max(1, min((n + threads - 1) // threads, 4096))
        if target == "cuda":
            from numba import cuda
            stream = cuda.external_stream(xp.cuda.get_current_stream().ptr)
            arguments = tuple(cuda.as_cuda_array(a, sync=False) if hasattr(a, "__cuda_array_interface__") else a
                              for a in arguments)
            function[blocks, threads, stream](*arguments)
        else:  # the simulator runs each thread in Python: one thread walks the whole grid-stride loop
            function[1, 1](*arguments)
        return
    if xp is not np:  # a stand-in for CuPy on the host (tests/host_syncs.py): numba gets its arrays' data
        arguments = tuple(np.asarray(a) if isinstance(a, np.ndarray) else a for a in arguments)
    function(*arguments)
