"""Reading a run file that may be damaged: what h5py raises on damage, turned into one-line errors."""
from __future__ import annotations

import functools

from ..errors import OutputError
from . import probe


READ_ERRORS = (OSError, KeyError, ValueError, RuntimeError)  # what h5py raises on damage


def one_line_errors(method):
    """Errors reading the file become OutputError naming it, e.g. a chunk failing its checksum."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if not self.file:  # h5py's message for a closed file would read as damage
            raise OutputError(f"{self.path}: the run is closed (open it again with abm.open_run)")
        try:
            return method(self, *args, **kwargs)
        except OutputError:
            raise
        except READ_ERRORS as error:
            raise OutputError(f"{self.path}: damaged run file ({probe.reason(error)})") from None
    return wrapper


def step_ranges(steps: list[int]) -> str:
    """A list of steps, shortened past six: '0, 10, ..., 480'."""
    if len(steps) <= 6:
        return ", ".join(str(s) for s in steps)
    return f"{steps[0]}, {steps[1]}, ..., {steps[-1]}"
