"""Solara's browser assets (its JavaScript app, RequireJS, fonts) cached locally, so `abm view` works
without the internet.

The page that Solara serves loads them from `/_solara/cdn/NAME@VERSION/...`. Solara's server
answers from a cache folder (`<venv>/share/solara/cdn`) and fills it from a CDN on the first
request; with no internet the page stays blank ("solara is not defined"). The CDN mirrors the npm
registry, so `python -m abm.view.assets` fills the cache ahead with `npm pack` (scripts/setup.sh
does when npm is there). The versions are those the installed Solara's page asks for.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

_PACKAGE = re.compile(r"\{\{cdn\}\}/((?:@[\w.-]+/)?[\w.-]+@\d[\w.+-]*)/")


def packages() -> list[str]:
    """NAME@VERSION of each npm package the installed Solara's page loads through its CDN path."""
    import ipyvue
    import solara.server
    from solara.server import settings

    template = Path(solara.server.__file__).parent / "templates" / "solara.html.j2"
    found = sorted(set(_PACKAGE.findall(template.read_text())))
    # The page loads the Vuetify 3 app with ipyvue 3, else the Vuetify 2 one (as solara/server/server.py decides).
    unused = "solara-vuetify-app@" if ipyvue.__version__.startswith("3") else "solara-vuetify3-app@"
    found = [name for name in found if unused not in name]
    if settings.assets.fontawesome_enabled:
        found.append(settings.assets.fontawesome_path.strip("/").split("/")[0])
    return found


def cache_dir() -> Path:
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def missing(cache: Path | None = None) -> list[str]:
    cache = cache_dir() if cache is None else cache
    return [name for name in packages() if not (cache / name / "package.json").exists()]


def fetch(names: list[str], cache: Path) -> None:
    """npm pack each package and unpack it as cache/NAME@VERSION (complete, or not there at all)."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("abm: error: npm not found: it fetches Solara's browser assets from the npm registry")
    for name in names:
        with tempfile.TemporaryDirectory(dir=cache.parent) as tmp:
            done = subprocess.run([npm, "pack", name, "--silent", "--pack-destination", tmp],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                why = (done.stderr.strip().splitlines() or ["?"])[-1]
                raise SystemExit(f"abm: error: npm pack {name} failed: {why}")
            tarball = Path(tmp) / done.stdout.strip().splitlines()[-1]
            unpacked = Path(tmp) / "unpacked"
            with tarfile.open(tarball) as archive:
                archive.extractall(unpacked, filter="data")  # npm tarballs hold one folder, package/
            target = cache / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():  # files Solara's own proxy cached one by one: replaced by the whole package
                target.rename(Path(tmp) / "previous")
            (unpacked / "package").rename(target)
        print(f"cached {name} in {target}")


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    cache = cache_dir()
    todo = missing(cache)
    if "--check" in args:
        print("\n".join(todo) if todo else "all cached")
        return 1 if todo else 0
    cache.mkdir(parents=True, exist_ok=True)
    fetch(todo, cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
