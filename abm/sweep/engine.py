"""Where the runs execute: a Dask cluster made from the sweep's engine block.

- local (default): ``LocalCluster`` in this process (worker processes, one thread each); with
  ``gpus: K``, K workers each pinned to one GPU (``CUDA_VISIBLE_DEVICES=i``, resources ``{GPU: 1}``).
- slurm / pbs: ``dask_jobqueue.SLURMCluster`` / ``PBSCluster``; each job is one worker (with
  ``gpus_per_worker: 1``: ``#SBATCH --gres=gpu:1`` or PBS ``ngpus=1``, resources ``{GPU: 1}``).
- scheduler: connect to a running scheduler (``abm sweep --scheduler tcp://host:8786``).
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from ..errors import ConfigError
from .spec import JobQueueEngine, LocalEngine, SchedulerEngine

DEFAULT_MAXIMUM_JOBS = 8
GPU_PROLOGUE = 'export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}"  # one GPU per worker'


def with_cli_options(engine, workers: int | None = None, scheduler: str | None = None):
    """The engine block with --workers / --scheduler applied."""
    if scheduler:
        return SchedulerEngine(kind="scheduler", address=scheduler, gpus_per_worker=uses_gpus(engine))
    if workers is not None:
        if isinstance(engine, LocalEngine):
            return engine.model_copy(update={"workers": workers})
        if isinstance(engine, JobQueueEngine):
            return engine.model_copy(update={"jobs": workers, "maximum_jobs": None})
        raise ConfigError("--workers: does not apply to engine kind scheduler (the cluster has its workers)")
    return engine


def uses_gpus(engine) -> int:
    """1 when every worker has one GPU (tasks are then submitted with resources={'GPU': 1})."""
    if isinstance(engine, LocalEngine):
        return int(engine.gpus > 0)
    return int(engine.gpus_per_worker)


def task_resources(engine) -> dict | None:
    return {"GPU": 1} if uses_gpus(engine) else None


def jobqueue_cluster(engine: JobQueueEngine, **kwargs):
    """A SLURMCluster or PBSCluster (no jobs submitted yet: call scale/adapt, or job_script())."""
    try:
        import dask_jobqueue
    except ImportError:  # pragma: no cover - a declared dependency
        raise ConfigError("engine.kind: slurm/pbs need dask-jobqueue (pip install dask-jobqueue)") from None
    from dask.utils import parse_bytes

    options = dict(
        queue=engine.queue or engine.partition, account=engine.account, walltime=engine.walltime,
        memory=engine.memory, cores=engine.cores, processes=engine.processes, job_name=engine.job_name,
        job_extra_directives=list(engine.job_extra_directives), job_script_prologue=list(engine.job_script_prologue),
        worker_extra_args=list(engine.worker_extra_args), local_directory=engine.local_directory,
        log_directory=engine.log_directory, interface=engine.interface, python=engine.python,
    )
    if engine.gpus_per_worker:
        options["worker_extra_args"] += ["--resources", "GPU=1"]
        options["job_script_prologue"] = [GPU_PROLOGUE] + options["job_script_prologue"]
    if engine.kind == "slurm":
        cls = dask_jobqueue.SLURMCluster
        if engine.gpus_per_worker:
            options["job_extra_directives"] = ["--gres=gpu:1"] + options["job_extra_directives"]
    else:
        cls = dask_jobqueue.PBSCluster
        from dask_jobqueue.pbs import pbs_format_bytes_ceil

        gpus = ":ngpus=1" if engine.gpus_per_worker else ""
        options["resource_spec"] = (f"select=1:ncpus={engine.cores}{gpus}"
                                    f":mem={pbs_format_bytes_ceil(parse_bytes(engine.memory))}")
    options = {key: value for key, value in options.items() if value is not None}
    options.update(engine.options)
    options.update(kwargs)
    try:
        return cls(**options)
    except TypeError as error:  # an unknown keyword in engine.options
        raise ConfigError(f"engine.options: {error}") from None


def job_script(engine: JobQueueEngine) -> str:
    """The batch script one worker job would be submitted with (starts and stops a local scheduler)."""
    cluster = jobqueue_cluster(engine, scheduler_options={"host": "127.0.0.1", "dashboard_address": ":0"})
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def _local_cluster(engine: LocalEngine, n_runs: int):
    from distributed import LocalCluster

    extra = {"memory_limit": engine.memory_limit} if engine.memory_limit else {}
    if engine.gpus:
        return gpu_cluster(engine, gpu_devices(engine.gpus), extra)
    workers = engine.workers or max(1, min(os.cpu_count() or 1, n_runs))
    return LocalCluster(n_workers=workers, threads_per_worker=engine.threads_per_worker, processes=True,
                        dashboard_address=None, env=compiled_threads_env(workers * engine.threads_per_worker),
                        **extra)


def compiled_threads_env(concurrent_runs: int, environ=os.environ) -> dict:
    """NUMBA_NUM_THREADS for each worker process: this machine's cores shared between the runs that
    execute at once, unless the user set it. Without it every worker starts one compiled thread per
    core, and on 2 cores 2 workers run 4 threads that wait for each other at every parallel loop."""
    if "NUMBA_NUM_THREADS" in environ:
        return {}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return {"NUMBA_NUM_THREADS": str(max(1, cores // max(1, concurrent_runs)))}


def gpu_devices(count: int, environ=os.environ) -> list[str]:
    """The first `count` GPUs this process may use (honours CUDA_VISIBLE_DEVICES, e.g. under SLURM)."""
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    devices = [d.strip() for d in visible.split(",") if d.strip()] if visible else [str(i) for i in range(count)]
    if len(devices) < count:
        raise ConfigError(f"engine.gpus: {count} GPUs asked for, CUDA_VISIBLE_DEVICES lists {len(devices)}")
    return devices[:count]


def gpu_cluster(engine: LocalEngine, devices: list[str], extra: dict | None = None):
    """One worker process per GPU of this machine, each seeing only its own GPU."""
    from distributed import Nanny, Scheduler, SpecCluster

    workers = {f"gpu{device}": {"cls": Nanny, "options": {
        "nthreads": engine.threads_per_worker, "resources": {"GPU": 1},
        "env": {"CUDA_VISIBLE_DEVICES": device}, **(extra or {})}} for device in devices}
    scheduler = {"cls": Scheduler, "options": {"dashboard_address": ":0"}}
    return SpecCluster(workers=workers, scheduler=scheduler, name="abm-gpu")


@contextlib.contextmanager
def open_client(engine, n_runs: int, retries: int = 3, log=print):
    """A distributed Client for the engine; the cluster (if we made it) is closed on exit.
    `retries`: how often a task is started again after its worker died (the scheduler's
    allowed-failures; a scheduler started elsewhere keeps its own setting)."""
    import dask
    from distributed import Client

    if isinstance(engine, SchedulerEngine):
        try:
            client = Client(engine.address, timeout="30s")
        except (OSError, TimeoutError) as error:
            raise ConfigError(f"--scheduler {engine.address}: cannot connect ({error})") from None
        log(f"abm: sweep: connected to scheduler {engine.address}")
        with client:
            yield client
        return
    if isinstance(engine, JobQueueEngine):
        submit = "sbatch" if engine.kind == "slurm" else "qsub"
        if shutil.which(submit) is None:
            raise ConfigError(f"engine.kind: {engine.kind}: {submit} not found on this machine; run abm sweep on a "
                              f"login node of the cluster (abm sweep --job-script shows the job script)")
    with dask.config.set({"distributed.scheduler.allowed-failures": retries}):
        cluster = _local_cluster(engine, n_runs) if isinstance(engine, LocalEngine) else jobqueue_cluster(engine)
    try:
        if isinstance(engine, LocalEngine):
            log(f"abm: sweep: local cluster, {len(cluster.workers)} worker processes")
        elif engine.jobs:
            cluster.scale(jobs=engine.jobs)
            log(f"abm: sweep: {engine.kind} cluster, {engine.jobs} jobs requested")
        else:
            maximum = engine.maximum_jobs or min(DEFAULT_MAXIMUM_JOBS, max(1, n_runs))
            cluster.adapt(minimum_jobs=0, maximum_jobs=maximum)
            log(f"abm: sweep: {engine.kind} cluster, adaptive up to {maximum} jobs")
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def engine_from(args):
    """The Dask engine of a command with add_dask_options(engine_file=True): local (--workers), a
    running scheduler (--scheduler), or the engine block of a YAML file (--engine)."""
    if args.engine:
        return with_cli_options(engine_file(args.engine), workers=args.workers)
    return with_cli_options(LocalEngine(kind="local"), workers=args.workers, scheduler=args.scheduler)


def engine_file(path):
    """The engine block of a YAML file (as in a sweep file), checked; a one-line error naming the key."""
    from pydantic import TypeAdapter, ValidationError

    from ..config.sections import load_raw
    from .spec import Engine

    raw, _ = load_raw(Path(path))
    if not isinstance(raw.get("engine"), dict):
        raise ConfigError(f"{path}: engine: expected a mapping (kind: local | slurm | pbs | scheduler, ...)")
    try:
        return TypeAdapter(Engine).validate_python(raw["engine"])
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(["engine", *(str(part) for part in first["loc"][1:])])
        raise ConfigError(f"{path}: {key}: {first['msg']}") from None
