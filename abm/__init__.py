"""Agent-based lattice tissue model of immune control of breast-cancer metastasis.

The public names are imported on first use (PEP 562), so that `import abm` (and so `abm --help`)
does not pay for NumPy, h5py, Mesa or pandas before a command needs them.
"""
_LAZY = {  # public name -> module that defines it
    "__version__": "._version",  # importlib.metadata looks it up: ~20-30 ms that `abm --help` need not pay
    "TissueModel": ".core.model",
    "open_run": ".io.reader",
    "read_snapshot": ".io.reader",
    "read_timeseries": ".io.reader",
}

__all__ = ["TissueModel", "__version__", "open_run", "read_snapshot", "read_timeseries"]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later look-ups skip this hook
        return value
    raise AttributeError(f"module 'abm' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
