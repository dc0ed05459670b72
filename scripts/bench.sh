#!/usr/bin/env bash
# Performance benchmark in one command: set up (.venv) and run `abm bench` on this machine.
#   bash scripts/bench.sh            # CPU (NumPy + numba), writes benchmarks/results/<date>-<device>-bench.json/.png
#   bash scripts/bench.sh gpu        # NVIDIA GPU: installs CuPy (CUDA 12 wheels; CUDA=13 for CUDA 13 drivers)
#   bash scripts/bench.sh gpu --quick
# Extra arguments go to `abm bench` (see `abm bench --help`). Numbers go to files, never to tests.
set -euo pipefail
cd "$(dirname "$0")/.."
device=${1:-cpu}
shift || true
case "$device" in
  cpu) bash scripts/setup.sh fast ;;
  gpu) bash scripts/setup.sh "fast,cuda${CUDA:-12}" ;;
  *) echo "usage: bash scripts/bench.sh [cpu|gpu] [abm bench options]" >&2; exit 2 ;;
esac
.venv/bin/abm bench --device "$device" "$@"
