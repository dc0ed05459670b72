#!/usr/bin/env bash
# Quick start 2: set up and run the test suite (CPU; GPU tests skip with their reason when no GPU).
# pytest exits 5 when it collects no test: with `set -e` that fails this script, as it should.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/python -m pytest -q -rs "$@"
