"""A command line that starts at once (issue 13): `abm --help` and `abm info` import no heavy
library. A guard on what is imported, not on seconds: `abm bench --only startup` measures those.

Each command runs in a fresh interpreter, which then lists the heavy modules it has loaded.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from abm.runner import run_to_file
from run_helpers import CONFIG, ROOT, env, overrides

# ~0.1 to 0.7 s each to import on two cores; none is needed to print help or a run's summary.
HEAVY = ("dask", "distributed", "mesa", "numba", "matplotlib", "scipy", "optuna", "SALib", "solara", "pandas",
         "pydantic")
NOT_FOR_HELP = HEAVY + ("numpy", "h5py", "yaml")  # help reads no file at all

PROBE = """
import json, sys
from abm.cli import main
try:
    code = main({argv!r})
except SystemExit as stop:
    code = stop.code
print(json.dumps({{"code": code, "modules": sorted({{name.split(".")[0] for name in sys.modules}})}}))
"""


def loaded_after(*argv: str) -> tuple[int, set[str]]:
    """(exit status, top-level modules loaded) of `abm ARGV` in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(argv=list(argv))], capture_output=True, text=True,
                          cwd=ROOT, env=env(), timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["code"], set(answer["modules"])


@pytest.mark.parametrize("argv", [["--help"], ["bench", "--help"], ["sweep", "--help"], ["validate", "--help"],
                                  ["sensitivity", "--help"], ["calibrate", "--help"], ["run", "--help"]])
def test_help_imports_nothing_heavy(argv):
    code, modules = loaded_after(*argv)
    assert code == 0
    assert not modules & set(NOT_FOR_HELP), f"abm {' '.join(argv)} imported {sorted(modules & set(NOT_FOR_HELP))}"


def test_usage_error_is_one_line_and_light():
    done = subprocess.run([sys.executable, "-m", "abm", "bogus"], capture_output=True, text=True, cwd=ROOT,
                          env=env(), timeout=120)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    code, modules = loaded_after("bogus")
    assert code == 2 and not modules & set(NOT_FOR_HELP)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("startup") / "small.h5"
    values = overrides(shape=(24, 24), hours=0.3, tumor=10, nk=4, snapshot=1, checkpoint=0)
    run_to_file(CONFIG, overrides=values, out=out, device="cpu", progress=False, log=lambda _line: None)
    return out


def test_info_imports_nothing_heavy_and_says_the_same(small_run):
    code, modules = loaded_after("info", str(small_run))
    assert code == 0
    assert not modules & set(HEAVY), f"abm info imported {sorted(modules & set(HEAVY))}"
    assert "h5py" in modules  # it did read the file
    done = subprocess.run([sys.executable, "-m", "abm", "info", str(small_run)], capture_output=True, text=True,
                          cwd=ROOT, env=env(), timeout=120)
    from abm.io.reader import Run

    with Run(small_run) as run:
        assert done.stdout.strip() == run.summary()  # the reader's own summary, through pandas


def test_info_on_a_missing_file_is_still_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "abm", "info", str(tmp_path / "none.h5")], capture_output=True,
                          text=True, cwd=ROOT, env=env(), timeout=120)
    assert done.returncode == 2 and done.stderr.strip() == f"abm: error: {tmp_path / 'none.h5'}: no such run file"


CACHE_PROBE = """
import json, sys
from numba.core.dispatcher import Dispatcher
from abm import TissueModel
TissueModel({config!r}, device="cpu", overrides={{"time.duration_h": 0.2}}).run(2)
stats = {{f"{{name}}.{{attr}}": [sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values())]
         for name, module in list(sys.modules.items()) if name.startswith("abm.kernels.")
         for attr, kernel in vars(module).items() if isinstance(kernel, Dispatcher) and kernel.signatures}}
print(json.dumps(stats))
"""


def test_a_second_run_loads_every_compiled_kernel_from_the_cache(tmp_path):
    """Compilation takes seconds (~4 s on two cores for the default scenario): a run's first step is
    quick only if every kernel it calls comes from numba's cache, under the installed package's
    name abm.kernels. The first process here fills an empty cache, the second must only read it."""
    from abm.kernels import _numba

    if not _numba.enabled():
        pytest.skip(f"no compiled kernels: {_numba.WHY_NOT}")
    runs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", CACHE_PROBE.format(config=CONFIG)], capture_output=True,
                              text=True, cwd=ROOT, env={**env(), "NUMBA_CACHE_DIR": str(tmp_path)}, timeout=600)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert first and all(misses for _hits, misses in first.values()), first  # compiled, then saved
    assert second and set(second) <= set(first)  # callees compiled with their callers need not load
    missed = {name: misses for name, (_hits, misses) in second.items() if misses}
    assert not missed, f"compiled again instead of loaded from the cache: {missed}"
    assert all(hits for hits, _misses in second.values())
