"""Compute kernels, each a NumPy reference (NAME.py) beside its CUDA source (NAME.cu).

Installed as the subpackage ``abm.kernels``. The NumPy functions define the semantics; the
CUDA kernels (launched through CuPy in ``_cuda.py``) must reproduce them: integer results
bit-identical, fields bit-identical as well because both use the same operation order and
CUDA is compiled with --fmad=false.
"""
