#!/usr/bin/env bash
# Quick start 2: set up and run the test suite (CPU; GPU tests skip with their reason when no GPU).
# The example plugin package (examples/abm-macrophage) is installed as a user would install their
# own, and its tests run too: they show the framework extended with no edit under abm/.
# pytest exits 5 when it collects no test: with `set -e` that fails this script, as it should.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/python -m pip install --quiet ./examples/abm-macrophage
if [ "$#" -eq 0 ]; then
  set -- tests examples/abm-macrophage/tests
fi
# -n: one test process per core (pytest-xdist); ABM_TEST_WORKERS=0 runs them in this process
.venv/bin/python -m pytest -q -rs -n "${ABM_TEST_WORKERS:-auto}" "$@"
