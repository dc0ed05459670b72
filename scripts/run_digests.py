"""Digests of every dataset of short runs of every scenario config and arm (behaviour preserved?).

    python scripts/run_digests.py --steps 60 --out digests.json        # record
    python scripts/run_digests.py --steps 60 --compare digests.json    # compare with a record

Each (config, arm) runs `--steps` steps on the CPU (snapshots every 20 steps, no checkpoint) and
every dataset of its HDF5 file is hashed (bytes and dtype). Provenance attributes (times, commit,
run id) are not hashed: they differ between any two runs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def cases():
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        if path.name == "calibration.yaml":  # abm calibrate's file, not a scenario
            continue
        raw = yaml.safe_load(path.read_text())
        yield str(path), None
        for arm in raw.get("arms") or {}:
            yield str(path), arm


def digest(case, steps: int) -> tuple[str, dict]:
    """The case's digests; a case that cannot run (a stage whose source run is missing) records
    its one-line error instead, so the other cases are still compared."""
    try:
        return _digest(case, steps)
    except Exception as error:  # noqa: BLE001 - reported per case, compared like a digest
        return f"{Path(case[0]).name}:{case[1] or '-'}", {"error": str(error).splitlines()[0][:300]}


def _digest(case, steps: int) -> tuple[str, dict]:
    path, arm = case
    raw = yaml.safe_load(Path(path).read_text())
    dt = float((raw.get("time") or {}).get("dt_min", 6.0))
    overrides = {"time.duration_h": steps * dt / 60.0, "output.snapshot_every_steps": 20,
                 "output.checkpoint_every_steps": 0, "device": "cpu"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.h5"
        from abm.runner import run_to_file
        run_to_file(path, overrides=overrides, out=out, progress=False, log=lambda *a: None, arm=arm)
        hashes = {}
        with h5py.File(out, "r") as f:
            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    data = obj[()]
                    hashes[name] = hashlib.sha256(np.ascontiguousarray(data).tobytes() + str(obj.dtype).encode()
                                                  ).hexdigest()[:16]
            f.visititems(visit)
    return f"{Path(path).name}:{arm or '-'}", hashes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--out")
    parser.add_argument("--compare")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    all_cases = list(cases())
    with ProcessPoolExecutor(args.workers) as pool:
        results = dict(pool.map(digest, all_cases, [args.steps] * len(all_cases)))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, sort_keys=True))
    if args.compare:
        reference = json.loads(Path(args.compare).read_text())
        bad = 0
        for case, hashes in sorted(reference.items()):
            got = results.get(case)
            if got is None:
                print(f"MISSING {case}")
                bad += 1
                continue
            differ = sorted(k for k in set(hashes) | set(got) if hashes.get(k) != got.get(k))
            print(f"{'same   ' if not differ else 'DIFFERS'} {case}" + (f": {differ[:6]}" if differ else ""))
            bad += bool(differ)
        print(f"{len(reference) - bad} of {len(reference)} cases identical")
        return 1 if bad else 0
    print(f"{len(results)} cases digested")
    return 0


if __name__ == "__main__":
    sys.exit(main())
