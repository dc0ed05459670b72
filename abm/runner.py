"""Running a model to an HDF5 file with a progress bar; the body of `abm run` and `abm run --resume`.

Checkpoints (output.checkpoint_every_steps) are written between steps. Ctrl-C (SIGINT) or
SIGTERM ends the step being computed, writes a checkpoint, marks the file `interrupted` and
raises ``Interrupted`` (a KeyboardInterrupt); a second Ctrl-C stops at once.

Before that, while the config is read, the model built, the run file created or a resume
planned (reads only), a signal stops the command at once (``Stopped``): nothing is half-written
then, and waiting for a first step that may be minutes away would make Ctrl-C look ignored.
Deferring starts once the run file is ready to be written step by step (or, for a resume, just
before it is changed).

ABM_FIRST_STEP_MARK=PATH in the environment: the wall-clock time (time.time()) at which the first
step computed by this process ended is written to PATH, for `abm bench`'s start-up figure
(launch to first step, measured from the parent that started `abm run`).
"""
from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .config.sections import load_config, load_raw
from .errors import OutputError
from .io.hdf5 import RunWriter, WriteFailed, check_writable
from .core.model import TissueModel


FIRST_STEP_MARK = "ABM_FIRST_STEP_MARK"


class Interrupted(KeyboardInterrupt):
    """The run stopped on a signal after writing a checkpoint at `step`."""

    def __init__(self, path, step: int, signal_number: int, checkpointed: bool):
        super().__init__(f"{path}: interrupted at step {step}")
        self.path, self.step, self.signal_number, self.checkpointed = path, step, signal_number, checkpointed


class Stopped(KeyboardInterrupt):
    """A signal before the first step: the command stopped at once; `detail` says what was left."""

    def __init__(self, signal_number: int, detail: str = ""):
        super().__init__(f"stopped by {signal.Signals(signal_number).name}")
        self.signal_number, self.detail, self.step = signal_number, detail, None


def default_output(name: str) -> Path:
    return Path("runs") / f"{name}.h5"


def run_to_file(config_path, overrides=None, out=None, device=None, overwrite=False, progress=True,
                log=print, arm=None, ablate=()) -> Path:
    """Validate everything, then run to completion writing one HDF5 file. Returns its path."""
    if out is not None and not str(out).strip():
        raise OutputError("--out: empty output path")
    with _stop_on_signals() as stop:
        # The config and the output path first: a bad path fails before a large lattice is allocated.
        config, _source = load_config(config_path, overrides, arm=arm, ablate=ablate)
        path = Path(out or config.output.path or default_output(config.name))
        check_writable(path, overwrite)
        model = TissueModel(config_path, device=device, overrides=overrides, arm=arm, ablate=ablate)
        config_text = load_raw(config_path)[1] if isinstance(config_path, (str, Path)) else None
        # A signal while the file is written under a temporary name: no file is left. From the
        # moment it takes its name, a signal ends the step (the first one) and checkpoints.
        writer = RunWriter(path, model, config_text=config_text, overwrite=overwrite,
                           on_publish=stop.defer)
        log(f"abm: {model.config.name}: backend {model.backend.description}")  # after every setup error
        return _drive(model, writer, path, stop, progress, log, checkpoint_first=True)


def resume_file(path, device=None, progress=True, log=print) -> Path:
    """Continue an interrupted or killed run from its latest checkpoint (`abm run --resume`)."""
    from .io.resume import apply, plan

    path = Path(path)
    with _stop_on_signals(detail=f"{path} is unchanged") as stop:
        chosen = plan(path, TissueModel, device=device)  # reads only; AlreadyComplete when there is nothing to do
        stop.defer()  # the run file is about to change: a signal waits for a clean point
        resumed = apply(chosen, device=device)
        model = resumed.model
        log(f"abm: {resumed.note}")
        log(f"abm: {model.config.name}: backend {model.backend.description}")
        return _drive(model, resumed.writer, path, stop, progress, log, checkpoint_first=resumed.from_step == 0)


def _drive(model, writer, path, stop, progress, log, checkpoint_first) -> Path:
    every = int(getattr(model.config.output, "checkpoint_every_steps", 0) or 0)
    min_interval_s = float(getattr(model.config.output, "checkpoint_min_interval_s", 0.0) or 0.0)
    last_checkpoint = time.monotonic()  # the run's start (or its resume from a checkpoint)
    model.observers.append(writer)
    bar = _progress_bar(model, progress)
    mark = os.environ.get(FIRST_STEP_MARK)
    gc.freeze()  # long-lived objects leave the cyclic GC's scans (~10 % of a fast step); undone below
    try:
        if every and checkpoint_first and model.steps < model.total_steps:
            writer.checkpoint()
        while model.steps < model.total_steps:
            if stop.signal_number:
                raise _checkpoint_and_stop(model, writer, path, stop.signal_number, every)
            model.step()
            if mark:
                mark = _write_mark(mark)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(_postfix(model), refresh=False)
            if (every and model.steps % every == 0 and model.steps < model.total_steps
                    and time.monotonic() - last_checkpoint >= min_interval_s):
                writer.checkpoint()
                last_checkpoint = time.monotonic()
    except Interrupted:
        raise
    except KeyboardInterrupt:  # inside a step: the state may be half-updated, keep the last checkpoint
        _close_quietly(writer, "interrupted")
        raise
    except WriteFailed as error:  # disk full, file system gone: keep what was written, say so
        _close_quietly(writer, f"failed: {error}")
        raise OutputError(f"{error}; the file is marked incomplete; make room, then continue with: "
                          f"abm run --resume {path}") from None
    except OSError as error:
        _close_quietly(writer, f"failed: {error}")
        raise OutputError(f"{path}: writing failed at step {model.steps} ({error}); the file is marked incomplete") from None
    except BaseException as error:
        _close_quietly(writer, f"failed: {error.__class__.__name__}: {error}")
        raise
    finally:
        gc.unfreeze()
        if model.observers and model.observers[-1] is writer:
            model.observers.pop()
        if bar is not None:
            bar.close()
    writer.close(status="completed")
    log(f"abm: wrote {path} ({model.steps} steps, {model.time_min / 60:.1f} h simulated)")
    return path


def _write_mark(path: str) -> None:
    try:
        Path(path).write_text(f"{time.time():.6f}\n")
    except OSError:  # a measuring aid: a missing mark is reported by the bench, the run goes on
        pass


def _checkpoint_and_stop(model, writer, path, signal_number, every) -> Interrupted:
    checkpointed = False
    try:
        writer.checkpoint()  # also when checkpoints are off: resuming needs one
        checkpointed = True
    finally:
        _close_quietly(writer, "interrupted")
    return Interrupted(path, model.steps, signal_number, checkpointed)


class _StopFlag:
    signal_number = 0
    deferring = False  # False: a signal raises Stopped at once; True: it is noted for the end of the step

    def defer(self):
        self.deferring = True


@contextmanager
def _stop_on_signals(detail: str = ""):
    """SIGINT/SIGTERM raise Stopped until flag.deferring is set; then they set a flag checked
    between steps, and a second SIGINT raises KeyboardInterrupt."""
    flag = _StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signal handlers can only be set in the main thread
        return

    def handler(number, _frame):
        if not flag.deferring:
            raise Stopped(number, detail)
        if flag.signal_number and number == signal.SIGINT:
            raise KeyboardInterrupt
        flag.signal_number = number

    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _close_quietly(writer, status):
    try:
        writer.close(status=status)
    except Exception:  # noqa: BLE001 - the original error matters more
        pass


def _postfix(model) -> dict:
    return {cell_type: model.count(cell_type) for cell_type in ("tumor", "nk")}


def _progress_bar(model, enabled):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=model.total_steps, initial=model.steps, unit="step", dynamic_ncols=True,
                file=sys.stderr, desc=model.config.name, mininterval=0.5)
