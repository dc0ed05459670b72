"""Make the repository root (for ``kernels`` before ``abm`` is installed) and this folder (for
test helpers such as run_helpers) importable."""
import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parent
for _path in (_TESTS.parent, _TESTS):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
