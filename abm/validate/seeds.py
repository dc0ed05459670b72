"""Validation never reads the seeds the parameters were fitted on: the calibration file's seed block
(`abm calibrate`, configs/calibration.yaml) is refused by `abm validate`."""
from __future__ import annotations

from pathlib import Path

from ..config.files import load_raw
from ..errors import ConfigError

CALIBRATION_FILE = Path(__file__).resolve().parents[2] / "configs" / "calibration.yaml"


def refuse_calibration_seeds(study: str, seeds, path: Path = CALIBRATION_FILE) -> None:
    """`abm validate` must not read the seeds the parameters were fitted on (one-line error)."""
    if not path.is_file():
        return
    raw, _ = load_raw(path)
    block = raw.get("seeds") if isinstance(raw.get("seeds"), dict) else {}
    start, count = block.get("start", 0), block.get("count", 0)
    if not (isinstance(start, int) and isinstance(count, int)):
        raise ConfigError(f"{path}: seeds: expected {{start: N, count: N}}")
    overlap = sorted(set(seeds) & set(range(start, start + count)))
    if overlap:
        raise ConfigError(f"validate {study}: seeds {overlap[0]}..{overlap[-1]} are calibration seeds of {path} "
                          f"({start}..{start + count - 1}); validate on other seeds")
