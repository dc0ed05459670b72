"""Agent-based lattice tissue model of immune control of breast-cancer metastasis."""
from ._version import __version__
from .io.reader import read_snapshot, read_timeseries  # noqa: E402
from .model import TissueModel  # noqa: E402

__all__ = ["TissueModel", "__version__", "read_snapshot", "read_timeseries"]
