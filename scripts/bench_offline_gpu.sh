#!/usr/bin/env bash
# On an offline GPU node with the wheels of scripts/gpu_wheels.sh in .whl/: install them and this
# package into /tmp/site, run the GPU tests, then measure the GPU goals (abm bench --goals):
#   - the general step of the liver scenario (4 fields) at 256^3 with 1.1 M cells: steps/s;
#   - the diffusion kernel at 256^3 and 512^3: achieved bandwidth, as a share of the card's peak;
#   - the minimal rules at 4096^2: agent-steps/s.
# Unattended, under 10 minutes (each part has its own time limit). Results go to $OUT (or
# benchmarks/results/). One command for the lent H100/H200 machines:
#   bash scripts/bench_offline_gpu.sh            (carry .whl)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-benchmarks/results}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir --target /tmp/site . || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.memory --format=csv | tee "$out/gpu-info.txt"
# The tests import `abm` as installed (the source tree's abm/ lacks abm.kernels): run them from a copy.
rm -rf /tmp/gpucheck && mkdir -p /tmp/gpucheck && cp -r tests configs /tmp/gpucheck/
(cd /tmp/gpucheck && timeout 240 python3 -m pytest -q -rs -p no:cacheprovider tests/test_gpu.py) 2>&1 | tee "$out/gpu-tests.txt"
timeout 330 /tmp/site/bin/abm bench --device gpu --goals --only minimal,diffusion,large --no-mesa \
  --out "$out/$(date +%F)-gpu-goals.json" "$@" 2>&1 | tee "$out/gpu-bench-log.txt"
