"""Array kernels outside the per-cell rules, installed as the subpackage ``abm.kernels``.

The neighbour scan, diffusion and counts are each a NumPy reference (NAME.py) beside its CUDA
source (NAME.cu, launched through CuPy in ``_cuda.py``) and, for the first two, a numba twin
(NAME_numba.py). The NumPy functions define the semantics; the others must reproduce them:
integer results bit-identical, fields bit-identical as well because both use the same operation
order and CUDA is compiled with --fmad=false. Besides them: claims.py (the claim buffer of
claim-then-resolve, whose contests are abm/engine/resolve_kernels.py), philox_numba.py (the one
Philox generator, inlined into the per-cell rules) and philox.py (chances as integer thresholds).
"""
