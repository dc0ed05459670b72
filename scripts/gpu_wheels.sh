#!/usr/bin/env bash
# For an offline GPU node that already has CuPy, NumPy, h5py, pandas, SciPy, matplotlib and numba
# (such as this project's lent H100/H200 machines): download the pure-Python dependencies it
# lacks as Python 3.12 wheels into .whl/, to be carried there with the repository. Then, there:
#   bash scripts/bench_offline_gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl "mesa==3.3.1" "pydantic>=2.5" pydantic-core annotated-types typing-inspection "typing-extensions>=4.16"
ls .whl
