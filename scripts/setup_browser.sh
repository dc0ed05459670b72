#!/usr/bin/env bash
# Debian's Chromium and its driver for the browser tests of `abm view` (tests/browser.py).
# Needs root (CI and the development machines run as root); does nothing when both are there.
set -euo pipefail
if command -v chromium >/dev/null && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
