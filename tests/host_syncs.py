"""Count the host synchronisations of the GPU code path, on the CPU (a test helper, not a test file).

On a GPU, a step that waits for the device (to learn a count, to turn a device value into a
Python number, to copy an array back) stalls the queue of kernels; the issue's goal is none in
a step but the output's. Without a GPU, the GPU code path still runs on the host
(abm/testing/cuda_host.py compiles the CUDA sources with g++); here it runs with arrays that stand
for CuPy arrays and count every operation that would make CuPy synchronise:

- "scalar": a device value made a Python bool/int/float (`if x.any()`, `int(n)`, `.item()`,
  `range(x)`, iterating, printing);
- "boolean index": `a[mask]` with a boolean mask (CuPy must learn the result's length);
- "data-sized result": nonzero, flatnonzero, argwhere, unique, compress, extract;
- "scalar" also for the host reads CuPy makes inside some functions: bincount reads whether a
  code is negative and the codes' maximum (cupy/_statistics/histogram.py), two waits per call;
- "to host": asnumpy / .get() (a device-to-host copy, which also waits).

Arrays are a NumPy subclass, and reductions and integer indexing give 0-d arrays, not host
scalars, as CuPy does, so a later `int()` is seen. What is counted is what CuPy would do
with the same calls: a faithful count needs the model to use only the calls CuPy has.

It also counts array operations ("operations": every ufunc, module function, fancy index and
raw kernel call on device arrays): on a GPU each is at least one kernel launch, and CuPy spends
some microseconds of host time dispatching each, whatever the array size, so their number per
step bounds the steps per second of small and mid-sized tissues.
"""
from __future__ import annotations

import collections
import contextlib
import traceback
import types

import numpy as np

from abm.testing.cuda_host import HostRawModule, host_module

DATA_SIZED = frozenset({"nonzero", "flatnonzero", "argwhere", "unique", "compress", "extract"})
HIDDEN_SCALAR_READS = {"bincount": 2}  # CuPy reads (x < 0).any() and x.max() back to the host
ALLOCATIONS = frozenset({"empty", "empty_like"})  # memory from CuPy's pool: no kernel, no sync
# Return their argument itself, no kernel, when it is already a device array of that kind.
VIEWS_WHEN_ALREADY_SO = frozenset({"asarray", "asanyarray", "ascontiguousarray", "reshape", "broadcast_to",
                                   "ravel", "squeeze", "expand_dims", "atleast_1d"})


def _model_line() -> str:
    """"file:line" of the innermost frame in the model (abm/, kernels/), where the call was made."""
    for frame in reversed(traceback.extract_stack(limit=16)):
        path = frame.filename.replace("\\", "/")
        for root in ("/abm/", "/kernels/"):
            if root in path and "host_syncs" not in path:
                return f"{root.strip('/')}/{path.split(root)[-1]}:{frame.lineno}"
    return "elsewhere"


class Syncs:
    """Tally of host synchronisations by kind (shared by all DeviceArrays)."""

    counts: collections.Counter = collections.Counter()
    sites: collections.Counter = collections.Counter()  # (kind, "file:line" in the model) -> syncs
    operations = 0  # array operations (each at least one kernel launch on a GPU)
    operation_sites: collections.Counter | None = None  # "file:line" -> operations, when a Counter

    depth = 0  # > 0 inside a counted module function: what NumPy does within it is not counted again

    @classmethod
    def operation(cls):
        if cls.depth:
            return
        cls.operations += 1
        if cls.operation_sites is not None:
            cls.operation_sites[_model_line()] += 1

    @classmethod
    def add(cls, kind):
        if cls.depth and kind != "scalar":  # a device value read by Python waits wherever it happens
            return
        cls.counts[kind] += 1
        cls.sites[kind, _model_line()] += 1

    @classmethod
    @contextlib.contextmanager
    def paused(cls):
        """Host-side reads made by the test itself, not by the model: not counted."""
        saved, saved_sites = cls.counts.copy(), cls.sites.copy()
        try:
            yield
        finally:
            cls.counts, cls.sites = saved, saved_sites


def to_device(value):
    """NumPy results as DeviceArrays (host scalars as 0-d arrays); anything else unchanged."""
    if isinstance(value, DeviceArray):
        return value
    if isinstance(value, np.ndarray):
        return value.view(DeviceArray)
    if isinstance(value, np.generic):
        return np.asarray(value).view(DeviceArray)
    if isinstance(value, tuple):
        return tuple(to_device(v) for v in value)
    if isinstance(value, list):
        return [to_device(v) for v in value]
    return value


def _is_boolean_index(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, np.ndarray) and k.dtype == np.bool_ for k in keys)


def _is_array_index(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, np.ndarray) for k in keys)


class DeviceArray(np.ndarray):
    """A NumPy array standing for a CuPy array: counts what would synchronise with the host."""

    def __array_wrap__(self, array, context=None, return_scalar=False):
        return np.ndarray.__array_wrap__(self, array, context, False)  # 0-d arrays, as CuPy

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        Syncs.operation()
        host = tuple(np.asarray(x).view(np.ndarray) if isinstance(x, DeviceArray) else x for x in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(np.asarray(x).view(np.ndarray) for x in kwargs["out"])
        return to_device(getattr(ufunc, method)(*host, **kwargs))

    def __getitem__(self, key):
        if _is_boolean_index(key):
            Syncs.add("boolean index")
        if _is_array_index(key):
            Syncs.operation()
        return to_device(np.ndarray.__getitem__(self, key))

    def __setitem__(self, key, value):
        Syncs.operation()  # a fill or a scatter: one kernel
        np.ndarray.__setitem__(self, key, value)

    # Methods that launch a kernel (CuPy's too); ufunc methods (sum, any, max, ...) are seen
    # by __array_ufunc__.
    def astype(self, dtype, *args, **kwargs):
        result = np.ndarray.astype(self, dtype, *args, **kwargs)
        if result is not self:
            Syncs.operation()
        return to_device(result)

    def nonzero(self):
        Syncs.add("data-sized result")
        Syncs.operation()
        return to_device(np.ndarray.nonzero(self))

    def _scalar(self):
        Syncs.add("scalar")
        return np.asarray(self).view(np.ndarray)

    def __bool__(self):
        return bool(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def __float__(self):
        return float(self._scalar())

    def __index__(self):
        return self._scalar().__index__()

    def item(self, *args):
        return self._scalar().item(*args)

    def tolist(self):
        return self._scalar().tolist()

    def __iter__(self):
        Syncs.add("scalar")
        return iter(to_device(v) for v in np.asarray(self).view(np.ndarray))

    def __repr__(self):
        with Syncs.paused():
            return f"DeviceArray({np.asarray(self).view(np.ndarray)!r})"

    def get(self):
        Syncs.add("to host")
        return np.asarray(self).view(np.ndarray).copy()


def _launching_method(name):
    method = getattr(np.ndarray, name)

    def launch(self, *args, **kwargs):
        Syncs.operation()
        return to_device(method(self, *args, **kwargs))

    launch.__name__ = name
    return launch


for _name in ("copy", "fill", "cumsum", "argmax", "argmin", "argsort", "sort", "take", "repeat", "clip"):
    setattr(DeviceArray, _name, _launching_method(_name))


class CountingCupy(types.ModuleType):
    """NumPy behind CuPy's names; results are DeviceArrays; syncing calls are counted."""

    RawModule = None  # set below: HostRawModule whose kernels count their launches
    compile_target = "cpu"  # per-cell kernels (abm/engine) run compiled for the host; each launch counts one

    def __getattr__(self, name):
        attribute = getattr(np, name)
        if isinstance(attribute, type) or not callable(attribute):
            return attribute  # dtypes and constants are host objects in CuPy too

        def device_function(*args, **kwargs):
            if name in DATA_SIZED:
                Syncs.add("data-sized result")
            for _ in range(HIDDEN_SCALAR_READS.get(name, 0)):
                Syncs.add("scalar")
            Syncs.depth += 1
            try:
                result = attribute(*args, **kwargs)
            finally:
                Syncs.depth -= 1
            unchanged = name in VIEWS_WHEN_ALREADY_SO and args and isinstance(args[0], DeviceArray) \
                and isinstance(result, np.ndarray) and np.may_share_memory(result, args[0])
            if name not in ALLOCATIONS and not unchanged:
                Syncs.operation()
            return to_device(result)

        return device_function

    @staticmethod
    def asnumpy(array):
        if isinstance(array, DeviceArray):
            Syncs.add("to host")
        return np.asarray(array).view(np.ndarray).copy()

    @staticmethod
    def get_array_module(*arrays):
        return COUNTING_CUPY


class CountingRawModule(HostRawModule):
    """HostRawModule whose kernels count each launch as an operation."""

    def get_function(self, name):
        kernel = super().get_function(name)

        def launch(grid, block, args):
            Syncs.operation()
            return kernel(grid, block, args)

        return launch


CountingCupy.RawModule = CountingRawModule
COUNTING_CUPY = CountingCupy("cupy_counting_syncs")
COUNTING_CUPY.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(
    getDevice=lambda: 0, memGetInfo=lambda: (2**34, 2**34)))


def counting_launchers(name: str):
    """kernels/<name>.py (CuPy launchers) loaded against COUNTING_CUPY: the CUDA sources compiled
    for the host, with device arrays that count."""
    return host_module(name, COUNTING_CUPY)


def syncs_per_step(model, steps: int) -> list[collections.Counter]:
    """Run `steps` steps; the syncs of each step by kind, and its array operations under
    the key "operations" (a per-cell kernel's launch is one)."""
    from abm.engine import targets

    real_launch = targets.launch

    def counted_launch(*args):
        Syncs.operations += 1
        real_launch(*args)

    counts = []
    targets.launch = counted_launch
    try:
        for _ in range(steps):
            Syncs.counts, Syncs.sites, Syncs.operations = collections.Counter(), collections.Counter(), 0
            model.step()
            counts.append(Syncs.counts.copy())
            counts[-1]["operations"] = Syncs.operations
    finally:
        targets.launch = real_launch
    return counts
