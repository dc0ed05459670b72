#!/usr/bin/env bash
# Create .venv (if missing) and install the package with the given extras, e.g. `scripts/setup.sh test`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
extras=${1:-}
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install --quiet -e ".[${extras}]"
else
  .venv/bin/python -m pip install --quiet -e .
fi
# Solara's browser assets for `abm view`, from the npm registry, so the viewer works offline
# (without them the page loads them from a CDN on first use). Optional: no npm, no harm.
if command -v npm >/dev/null; then
  .venv/bin/python -m abm.view.assets >/dev/null || echo "setup: could not cache Solara's browser assets (python -m abm.view.assets)" >&2
fi
