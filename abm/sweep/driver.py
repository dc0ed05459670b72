"""Running a sweep: plan, skip what is complete, submit the rest to Dask, collect, summarise.

Resumable: a run whose output is complete with the same config is skipped, every other run is
(re)started from scratch (half-written attempts never carry the final name, see worker.py).
Fault tolerant: a run that raises is recorded as failed and the others go on; a task whose
worker died is re-run elsewhere by the scheduler; the summary lists every run exactly once.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OutputError
from .engine import open_client, task_resources, with_cli_options
from .spec import load_sweep
from .summary import build_table, counts, write_summary
from .worker import adopt_partial_run, execute_run, output_state, remove_part_files

LOCK = ".sweep.lock"


@dataclass
class SweepResult:
    folder: Path
    table: object                  # pandas DataFrame, one row per run
    executed: list[str] = field(default_factory=list)   # runs attempted by this invocation
    skipped: list[str] = field(default_factory=list)    # complete before it started
    interrupted: bool = False
    summary_paths: tuple = ()

    @property
    def failed(self) -> list[str]:
        return list(self.table.loc[self.table["status"] == "failed", "run"])

    @property
    def counts(self) -> dict:
        return counts(self.table)


@contextlib.contextmanager
def sweep_lock(folder: Path):
    """One `abm sweep` per sweep folder at a time (a POSIX lock: released if the process dies)."""
    import fcntl

    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputError(f"{folder}: another `abm sweep` is running on this folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.uname().nodename} {os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def run_sweep(path, out_dir=None, workers: int | None = None, scheduler: str | None = None,
              device: str | None = None, client=None, progress: bool = True, dry_run: bool = False,
              log=print) -> SweepResult:
    """Run (or resume) the sweep in `path`. `client`: an existing distributed.Client to use instead
    of the engine block. Returns the summary table and what this invocation did."""
    sweep = load_sweep(path, out_dir=out_dir, device=device)
    engine = with_cli_options(sweep.spec.engine, workers=workers, scheduler=scheduler)
    folder = sweep.out_dir
    if dry_run:
        todo, records = _plan(sweep, log)
        varying = [k for k in sweep.swept_keys if len({repr(r.params[k]) for r in sweep.runs}) > 1]
        for run in todo:
            log(f"  would run {run.stem}: " + " ".join(f"{k}={run.params[k]}" for k in varying) + f" seed={run.seed}")
        skipped = list(records)
        records.update({run.stem: {"status": "cancelled", "error": "dry run"} for run in todo})
        return SweepResult(folder, build_table(sweep, records), skipped=skipped)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{folder}: cannot create the sweep folder ({error.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{folder}: sweep folder is not writable")
    with sweep_lock(folder):
        todo, records = _plan(sweep, log)
        skipped = list(records)
        # leftovers of attempts that died in an earlier invocation (we hold the lock: none is alive)
        resuming = {run.stem: step for run in todo
                    if (step := adopt_partial_run(run.output, run.expected_config)) is not None}
        remove_part_files(folder)
        if resuming:
            log(f"abm: sweep {sweep.spec.name}: {len(resuming)} runs continue from their checkpoints")
        (folder / "sweep.yaml").write_text(sweep.text)
        interrupted = False
        try:
            if todo and client is not None:
                _execute(client, sweep, engine, todo, records, progress, log)
            elif todo:
                with open_client(engine, len(todo), retries=sweep.spec.retries, log=log) as own:
                    _execute(own, sweep, engine, todo, records, progress, log)
        except KeyboardInterrupt:
            interrupted = True
        table = build_table(sweep, records)
        paths = write_summary(folder, table)
        if not interrupted:
            remove_part_files(folder, resume_files=True)
    result = SweepResult(folder, table, executed=[run.stem for run in todo if run.stem in records],
                         skipped=skipped, interrupted=interrupted, summary_paths=paths)
    c = result.counts
    log(f"abm: sweep {sweep.spec.name}: {c['done']} done, {c['skipped']} skipped (complete before), "
        f"{c['failed']} failed" + (f", {c['cancelled']} not run (interrupted)" if c["cancelled"] else "")
        + f" -> {paths[0]}")
    return result


def _plan(sweep, log) -> tuple[list, dict]:
    """The runs to execute, and records of those already complete (same config)."""
    todo, records = [], {}
    for run in sweep.runs:
        if output_state(run.output, run.expected_config) == "complete":
            records[run.stem] = {"status": "skipped"}
        else:
            todo.append(run)
    n_arms = len({run.arm for run in sweep.runs})
    log(f"abm: sweep {sweep.spec.name}: {len(sweep.runs)} runs ({n_arms} arms x "
        f"{len(sweep.runs) // max(1, n_arms)} seeds): {len(records)} complete already, {len(todo)} to run")
    return todo, records


def _execute(client, sweep, engine, todo, records, progress, log):
    from distributed import as_completed
    from tqdm import tqdm

    resources = task_resources(engine)
    if resources:
        workers = client.scheduler_info().get("workers", {}).values()
        if workers and not any(w.get("resources", {}).get("GPU") for w in workers):
            log("abm: sweep: warning: runs ask for a GPU (resources GPU=1) but no worker of this cluster offers "
                "one; they wait until such a worker joins (start workers with --resources GPU=1)")
    token = uuid.uuid4().hex[:8]  # task keys unique to this invocation
    futures = {}
    for run in todo:
        future = client.submit(execute_run, dataclasses.asdict(run), key=f"abm-{run.stem}-{token}", pure=False,
                               retries=sweep.spec.retries, resources=resources)
        futures[future] = run
    failed = 0
    bar = tqdm(total=len(todo), unit="run", desc=sweep.spec.name, file=sys.stderr, disable=not progress,
               dynamic_ncols=True)
    bar.set_postfix(failed=0, refresh=False)
    try:
        for future in as_completed(futures):
            run = futures.pop(future)
            try:
                record = future.result()
            except Exception as error:  # noqa: BLE001 - e.g. KilledWorker: the run killed every worker it had
                text = " ".join(str(error).split())
                record = {"status": "failed", "error": f"{error.__class__.__name__}: {text}"}
            future.release()  # the worker drops the result: a later worker death does not recompute it
            records[run.stem] = record
            if record["status"] == "failed":
                failed += 1
                message = f"abm: sweep: {run.stem} failed: {record['error']}"
                bar.write(message, file=sys.stderr) if progress else log(message)
            bar.update(1)
            bar.set_postfix(failed=failed, refresh=False)
    except KeyboardInterrupt:
        client.cancel(list(futures))
        raise
    finally:
        bar.close()
