"""Compiling the per-cell kernels to PTX on a machine without a GPU (numba-cuda + NVVM): the GPU
target's compile check. numba-cuda asks the current device for its compute capability when it
compiles a device function; with no driver there is none, so the check names one."""
from __future__ import annotations

from contextlib import contextmanager


def available() -> str:
    """'' when PTX can be compiled here, else why not."""
    try:
        from numba import cuda  # noqa: F401
        from numba.cuda import dispatcher  # noqa: F401
        from numba.cuda.cudadrv import nvvm
        nvvm.NVVM()
    except Exception as error:  # noqa: BLE001 - any missing piece (numba-cuda, NVVM, NVRTC) skips
        return f"numba-cuda cannot compile here: {str(error).splitlines()[0][:200]}"
    return ""


@contextmanager
def without_a_device(cc=(8, 0)):
    from numba.cuda import dispatcher

    class Device:  # what numba-cuda reads of the current device while compiling
        compute_capability = cc

    real = dispatcher.get_current_device
    dispatcher.get_current_device = lambda: Device()
    try:
        yield
    finally:
        dispatcher.get_current_device = real


def ptx(program, arguments, cc=(8, 0)) -> str:
    """The PTX of a composed program's CUDA kernel for the types of `arguments` (a real call's)."""
    from ..engine.targets import kernel_function

    return ptx_of_function(kernel_function(program, "cuda"), arguments, cc)


def ptx_of_function(function, arguments, cc=(8, 0)) -> str:
    """The PTX of a kernel's Python function written for CUDA, for the types of `arguments`."""
    import numba
    from numba import cuda

    from ..engine.targets import without_contraction

    without_contraction()
    with without_a_device(cc):
        code, _ = cuda.compile_ptx(function, tuple(numba.typeof(a) for a in arguments), cc=cc)
    return code
