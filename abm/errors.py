"""Errors the user can act on. The CLI prints them as one line and exits with status 2."""


class AbmError(Exception):
    """Base for errors caused by the user's input, printed without a traceback."""


class ConfigError(AbmError):
    """A configuration file or value is wrong (the message names the file and key)."""


class OutputError(AbmError):
    """An output file cannot be written or read."""
