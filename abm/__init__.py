"""Agent-based lattice tissue model of immune control of breast-cancer metastasis."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tissue-abm")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

from .io.reader import read_snapshot, read_timeseries  # noqa: E402
from .model import TissueModel  # noqa: E402

__all__ = ["TissueModel", "__version__", "read_snapshot", "read_timeseries"]
