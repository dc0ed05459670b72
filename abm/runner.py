"""Running a model to an HDF5 file with a progress bar; the body of `abm run`."""
from __future__ import annotations

import sys
from pathlib import Path

from .config import load_config, load_raw
from .errors import OutputError
from .io.hdf5 import RunWriter, check_writable
from .model import TissueModel


def default_output(name: str) -> Path:
    return Path("runs") / f"{name}.h5"


def run_to_file(config_path, overrides=None, out=None, device=None, overwrite=False, progress=True,
                log=print) -> Path:
    """Validate everything, then run to completion writing one HDF5 file. Returns its path."""
    if out is not None and not str(out).strip():
        raise OutputError("--out: empty output path")
    # The config and the output path first: a bad path fails before a large lattice is allocated.
    config, _source = load_config(config_path, overrides)
    path = Path(out or config.output.path or default_output(config.name))
    check_writable(path, overwrite)
    model = TissueModel(config_path, device=device, overrides=overrides)
    config_text = load_raw(config_path)[1] if isinstance(config_path, (str, Path)) else None
    writer = RunWriter(path, model, config_text=config_text, overwrite=overwrite)
    model.observers.append(writer)
    log(f"abm: {model.config.name}: backend {model.backend.description}")  # after every setup error
    bar = _progress_bar(model, progress)
    try:
        while model.steps < model.total_steps:
            model.step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(_postfix(model), refresh=False)
    except KeyboardInterrupt:
        writer.close(status="interrupted")
        raise
    except OSError as error:  # disk full, file system gone: keep what was written, say so
        _close_quietly(writer, f"failed: {error}")
        raise OutputError(f"{path}: writing failed at step {model.steps} ({error}); the file is marked incomplete") from None
    except BaseException as error:
        _close_quietly(writer, f"failed: {error.__class__.__name__}: {error}")
        raise
    finally:
        if bar is not None:
            bar.close()
    writer.close(status="completed")
    log(f"abm: wrote {path} ({model.steps} steps, {model.time_min / 60:.1f} h simulated)")
    return path


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
