"""What a Dask worker does for one run, and the file protocol that makes runs safe to retry.

Each attempt writes to its own hidden file next to the output (``.<stem>.part-<host>-<pid>-<token>.h5``,
with its checkpoint and XDMF sidecars) and publishes it only when the run completed:
``os.link`` to the final name, which fails if another attempt published first (first one wins,
nothing is overwritten), else ``os.replace`` over a stale file. So the final name only ever holds
a complete run. A worker killed mid-run leaves its ``.part-`` files; when the sweep starts again,
the most advanced one whose checkpoint matches the run's config becomes ``.<stem>.resume.h5`` and
the next attempt claims it (an atomic rename) and continues it from its checkpoint
(``abm.runner.resume_file``); the other leftovers are removed. Every attempt appends events to
``journal.jsonl`` in the sweep folder.
"""
from __future__ import annotations

import json
import os
import socket
import time
import traceback
import uuid
from pathlib import Path

from ..io.files import fsync_file

PART_MARK = ".part-"
RESUME_MARK = ".resume"
JOURNAL = "journal.jsonl"


def output_state(path, expected_config: str | None) -> str:
    """'complete' (completed, same config, made by this code: io/provenance.py), 'missing',
    'incomplete', 'mismatch' or 'unreadable'."""
    import h5py

    from ..io.provenance import code_sha256

    path = Path(path)
    if not path.exists():
        return "missing"
    if not _sound(path):
        return "unreadable"
    try:
        with h5py.File(path, "r", locking="best-effort") as f:
            if not bool(f.attrs.get("completed", False)):
                return "incomplete"
            stored, code = (_text(f.attrs.get(key, "")) for key in ("config_yaml", "code_sha256"))
    except (OSError, KeyError, ValueError, RuntimeError):
        return "unreadable"
    same = expected_config is not None and stored == expected_config and code == code_sha256()
    return "complete" if same else "mismatch"


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def journal(folder, **event) -> None:
    """Append one JSON line (one write() call with O_APPEND: lines from concurrent workers do not mix)."""
    event = {"time": round(time.time(), 3), "host": socket.gethostname(), "pid": os.getpid(), **event}
    for key, variable in (("job", "SLURM_JOB_ID"), ("job", "PBS_JOBID"), ("gpus", "CUDA_VISIBLE_DEVICES")):
        if os.environ.get(variable):
            event.setdefault(key, os.environ[variable])
    line = (json.dumps(event, default=str) + "\n").encode()
    try:
        fd = os.open(Path(folder) / JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError:
        pass  # the journal is a log; a run never fails because of it


def read_journal(folder) -> list[dict]:
    path = Path(folder) / JOURNAL
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
    return events


def part_files(folder, stem: str = "*") -> list[Path]:
    """Leftovers of attempts (run files and their sidecars), of one run or of all."""
    return sorted(Path(folder).glob(f".{stem}{PART_MARK}*"))


def resume_path(final) -> Path:
    final = Path(final)
    return final.with_name(f".{final.stem}{RESUME_MARK}.h5")


def _checkpoint_path(run_path: Path) -> Path | None:
    try:
        from ..io.checkpoint import checkpoint_path
    except ImportError:  # no checkpoints in this version: runs restart from step 0
        return None
    return checkpoint_path(run_path)


def checkpoint_step(run_path: Path, expected_config: str | None) -> int | None:
    """Step of the checkpoint beside run_path, if there is one for this config."""
    import h5py

    path = _checkpoint_path(run_path)
    if path is None or expected_config is None or not path.exists() or not _sound(path):
        return None
    try:
        with h5py.File(path, "r", locking="best-effort") as f:
            stored = f.attrs.get("config_yaml", "")
            stored = stored.decode() if isinstance(stored, bytes) else str(stored)
            return int(f.attrs["step"]) if stored == expected_config else None
    except (OSError, KeyError, ValueError, RuntimeError):
        return None


def _sound(path: Path) -> bool:
    """Whether the file's metadata reads without error, in a child process that cannot hang on a
    damaged file (abm.io.probe); a damaged output or checkpoint is then run again, not reused."""
    from ..errors import OutputError
    from ..io import probe

    try:
        probe.check(path)
    except OutputError:
        return False
    return True


def _move(src: Path, dst: Path) -> None:
    os.replace(src, dst)
    for sidecar in (_checkpoint_path(src),):
        if sidecar is not None and sidecar.exists():
            os.replace(sidecar, _checkpoint_path(dst))


def adopt_partial_run(final, expected_config: str | None) -> int | None:
    """Before a run is submitted (the sweep lock held, no attempt alive): keep the most advanced
    killed attempt with a usable checkpoint as the run's resume file, drop the other leftovers.
    Returns the checkpoint step it will resume from, or None (the run starts from step 0)."""
    final = Path(final)
    target = resume_path(final)
    candidates = [p for p in part_files(final.parent, final.stem) if p.name.endswith(".h5")]
    if target.exists():
        candidates.append(target)
    steps = {p: checkpoint_step(p, expected_config) for p in candidates}
    usable = {p: step for p, step in steps.items() if step is not None}
    best = max(usable, key=usable.get) if usable else None
    if best is not None and best != target:
        _move(best, target)
    for path in part_files(final.parent, final.stem):
        _remove(path)
    if best is None:
        for path in (target, _checkpoint_path(target)):
            if path is not None:
                _remove(path)
        return None
    return usable[best]


def remove_part_files(folder, resume_files: bool = False) -> int:
    removed = 0
    paths = part_files(folder) + (sorted(Path(folder).glob(f".*{RESUME_MARK}.h5*")) if resume_files else [])
    for path in paths:
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed



def publish(tmp: Path, final: Path, expected_config: str | None) -> bool:
    """Give the finished temporary file its final name. False if another attempt published first."""
    fsync_file(tmp)
    try:
        os.link(tmp, final)
    except FileExistsError:
        if output_state(final, expected_config) == "complete":
            tmp.unlink()
            return False
        os.replace(tmp, final)  # a stale file (incomplete, or another config) from an older run
        return True
    except OSError:  # no hard links on this file system
        os.replace(tmp, final)
        return True
    tmp.unlink()
    return True


def _stamp(path: Path, run: dict, wall_s: float) -> None:
    """Sweep metadata as root attributes (the datasets are untouched)."""
    import h5py

    from ..io.files import LIBVER

    with h5py.File(path, "a", locking="best-effort", libver=LIBVER) as f:
        f.attrs["sweep_name"] = run["sweep"]
        f.attrs["sweep_run"] = run["stem"]
        f.attrs["sweep_arm"] = run["arm"]
        f.attrs["sweep_overrides"] = json.dumps(run["overrides"], sort_keys=True, default=str)
        f.attrs["sweep_wall_s"] = wall_s
        f.attrs["sweep_host"] = socket.gethostname()


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{error.__class__.__name__}: {text}" if text else error.__class__.__name__


def _attempt_id() -> str:
    host = socket.gethostname().replace(".", "_").replace("/", "_")
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _claim_resume(final: Path, tmp: Path) -> bool:
    """Take the run's resume file for this attempt (atomic: one attempt gets it)."""
    try:
        _move(resume_path(final), tmp)
    except FileNotFoundError:
        return False
    return True


def _run(run: dict, final: Path, tmp: Path, attempt: str) -> None:
    """Continue the claimed partial run, or run from step 0 into tmp."""
    from ..runner import run_to_file

    quiet = lambda message: None  # noqa: E731
    if _claim_resume(final, tmp):
        try:
            from ..io.resume import AlreadyComplete
            from ..runner import resume_file
        except ImportError:
            pass
        else:
            journal(final.parent, run=run["stem"], event="resumed", attempt=attempt,
                    from_step=checkpoint_step(tmp, run["expected_config"]))
            try:
                resume_file(tmp, device=run["device"], progress=False, log=quiet)
                return
            except AlreadyComplete:
                return
            except Exception as error:  # noqa: BLE001 - a damaged leftover: start again
                journal(final.parent, run=run["stem"], event="resume-failed", attempt=attempt,
                        error=_one_line(error))
        _remove_run_files(tmp)
    run_to_file(run["base"], overrides={**run["overrides"], "seed": run["seed"]}, out=tmp,
                device=run["device"], overwrite=False, progress=False, log=quiet)


def _remove_run_files(path: Path) -> None:
    for p in (path, _checkpoint_path(path), path.with_suffix(".xdmf"), path.with_name(path.name + ".tmp")):
        if p is not None:
            _remove(p)


def _write_xdmf(final: Path) -> None:
    """The ParaView sidecar of the published file (the attempt's one names the temporary file)."""
    try:
        import h5py

        from ..io import xdmf
    except ImportError:
        return
    with h5py.File(final, "r", locking="best-effort") as f:
        entries = xdmf.describe_run(f)
        shape, dx = [int(n) for n in f.attrs["lattice_shape"]], float(f.attrs["dx_um"])
    xdmf.write(final, shape, dx, entries)


def execute_run(run: dict) -> dict:
    """Run one sweep run (a RunSpec as a dict) on this worker. Never raises for a failed run:
    the error comes back in the record. Only a dying worker or process shutdown escapes."""
    from .summary import safe_metrics

    final = Path(run["output"])
    folder = final.parent
    attempt = _attempt_id()
    tmp = final.with_name(f".{final.stem}{PART_MARK}{attempt}.h5")
    error_file = final.with_name(final.stem + ".error.txt")
    record = {"run": run["stem"], "attempt": attempt, "host": socket.gethostname(), "pid": os.getpid(),
              "output": "", "error": "", "device": "", "wall_s": float("nan"), "metrics": {}}
    if output_state(final, run["expected_config"]) == "complete":  # another attempt published it already
        journal(folder, run=run["stem"], event="duplicate", attempt=attempt)
        return {**record, "status": "done", "duplicate": True, "output": str(final), **_file_info(final)}
    journal(folder, run=run["stem"], event="start", attempt=attempt)
    start = time.perf_counter()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _run(run, final, tmp, attempt)
        wall = time.perf_counter() - start
        _stamp(tmp, run, wall)
        metrics = safe_metrics(tmp)
        published = publish(tmp, final, run["expected_config"])
    except Exception as error:  # noqa: BLE001 - recorded; the other runs go on
        wall = time.perf_counter() - start
        _remove_run_files(tmp)
        message = _one_line(error)
        try:
            error_file.write_text(f"{run['stem']} {attempt}\n{message}\n\n{traceback.format_exc()}")
        except OSError:
            pass
        journal(folder, run=run["stem"], event="failed", attempt=attempt, error=message)
        return {**record, "status": "failed", "duplicate": False, "error": message, "wall_s": wall}
    _remove_run_files(tmp)  # the sidecars named after the temporary file
    if published:
        stale_checkpoint = _checkpoint_path(final)  # of a file this one replaced, if any
        if stale_checkpoint is not None:
            _remove(stale_checkpoint)
        try:
            _write_xdmf(final)
        except Exception:  # noqa: BLE001 - a sidecar for viewers; the run is complete without it
            pass
    _remove(error_file)
    journal(folder, run=run["stem"], event="published" if published else "duplicate", attempt=attempt,
            wall_s=round(wall, 3))
    return {**record, "status": "done", "duplicate": not published, "output": str(final), "wall_s": wall,
            "metrics": metrics, **_file_info(final)}


def _file_info(path: Path) -> dict:
    import h5py

    try:
        with h5py.File(path, "r", locking="best-effort") as f:
            device = f.attrs.get("device", "")
            return {"device": device.decode() if isinstance(device, bytes) else str(device)}
    except OSError:
        return {}


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
