"""The installed package's version (its own module: abm/io imports it without importing abm)."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tissue-abm")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"
