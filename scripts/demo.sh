#!/usr/bin/env bash
# Quick start 1: set up, run the default scenario (runs/default.h5) and draw it (runs/default.png).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh fast
.venv/bin/abm run configs/default.yaml --overwrite
.venv/bin/abm info runs/default.h5
.venv/bin/abm plot runs/default.h5 --step 240 --out runs/default.png   # after 24 h (the README picture)
