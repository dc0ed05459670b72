"""What made a run: the package's source files (a content hash), its git commit, the plugins' versions.

A run is reused (by `abm validate`, `abm sweep`, `abm calibrate`) only when its config AND the code hash
match: a run made by older code is stale even when its config is the same. The git commit
alone cannot say this (an edited working tree, an installed wheel without .git).
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import subprocess
from pathlib import Path

_SOURCE_SUFFIXES = (".py", ".cu", ".h")
# Parts of the package that read runs or start them but do not shape what a run computes: a change
# there (a report's wording, the viewer) leaves every run file valid.
_NOT_MODEL = {"validate", "calibrate", "sensitivity", "sweep", "bench", "view", "viz", "cli.py", "__main__.py"}


def _package_dirs() -> list[Path]:
    # find_spec locates abm.kernels (kernels/ in a source tree) without importing it.
    dirs = []
    for name in ("abm", "abm.kernels"):
        spec = importlib.util.find_spec(name)
        dirs.extend(Path(p) for p in (spec.submodule_search_locations or []))
    return dirs


@functools.lru_cache(maxsize=1)
def code_sha256() -> str:
    """sha256 over the source files that make a run (path relative to its package, then content):
    the package and its kernels, less the tools around runs (_NOT_MODEL)."""
    digest = hashlib.sha256()
    for root in _package_dirs():
        for path in sorted(p for p in root.rglob("*") if p.suffix in _SOURCE_SUFFIXES and "__pycache__" not in p.parts):
            relative = path.relative_to(root)
            if root.name != "kernels" and (relative.parts[0] in _NOT_MODEL or relative.parts[0] == "kernels"):
                continue  # a tool around runs; kernels/ is hashed once, as abm.kernels
            digest.update(f"{root.name}/{relative.as_posix()}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def plugin_versions(plugins) -> dict:
    """Plugin name -> version of the distribution that provides it (provenance of the run)."""
    if not plugins:  # most runs: packages_distributions() reads every installed package (~0.1-0.3 s)
        return {}
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    distributions = packages_distributions()
    out = {}
    for name in plugins:
        from ..config.plugins import available

        module = available().get(name, name).split(":")[0].split(".")[0]
        try:
            out[name] = version(distributions.get(module, [module])[0])
        except (PackageNotFoundError, IndexError):
            out[name] = "unknown"
    return out


def git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"
