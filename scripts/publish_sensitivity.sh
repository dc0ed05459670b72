#!/usr/bin/env bash
# Copy each study's sensitivity outputs (report, indices, read-outs, design, plot) from
# runs/sensitivity/<study>/ into docs/sensitivity/<study>/; the runs themselves stay in runs/.
#   bash scripts/publish_sensitivity.sh [runs/sensitivity]
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=${1:-runs/sensitivity}
for study in "$source_dir"/*/; do
  name=$(basename "$study")
  [ -f "$study/report.md" ] || continue
  mkdir -p "docs/sensitivity/$name"
  for file in report.md indices.csv readouts.csv design.csv indices.png; do
    [ -f "$study/$file" ] && cp "$study/$file" "docs/sensitivity/$name/"
  done
  echo "docs/sensitivity/$name"
done
