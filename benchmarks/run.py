"""Performance benchmarks: ``python benchmarks/run.py [ARGS]`` is ``abm bench [ARGS]``.

    python benchmarks/run.py                  # full run on the backend at hand (GPU if CuPy finds one)
    python benchmarks/run.py --quick          # small sizes, a few minutes on 2 cores
    python benchmarks/run.py --help           # the options, and what each figure means

Results: benchmarks/results/<date>-<device>-bench.json and the scaling plot beside it (abm/bench/).
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from abm.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
