"""Run a module s2sad wrote in a Python that cannot import s2sad (DESIGN.md §5).

The child runs with ``-I -S``: no ``PYTHONPATH``, no current directory, no site-packages
(so no ``.pth`` file, and no editable or regular install of s2sad, gast or astor). Its
``sys.path`` is the standard library, the module's directory, and a directory holding
only NumPy (symbolic links to the ``numpy`` package and its bundled libraries). The child
checks that s2sad, gast and astor cannot be found, runs the calls it is given, and prints
their results as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

_CHILD = r"""
import importlib.util, json, sys
sys.path[:0] = sys.argv[1:3]
for name in ("s2sad", "gast", "astor"):
    assert importlib.util.find_spec(name) is None, f"{name} is importable"
module = __import__(sys.argv[3])
loaded = sorted(sys.modules)  # what importing the module imported
import numpy as np
calls = json.loads(sys.argv[4])

def plain(value):
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return np.asarray(value, dtype=float).tolist()

results = []
for name, args in calls:
    args = [np.array(a) if isinstance(a, list) else a for a in args]
    results.append(plain(getattr(module, name)(*args)))
assert "s2sad" not in sys.modules
print(json.dumps({"results": results, "loaded": loaded}))
"""


def numpy_only(tmp: Path) -> Path:
    """A directory from which only NumPy can be imported."""
    site = tmp / "numpy-only"
    if not site.exists():
        site.mkdir()
        package = Path(np.__file__).resolve().parent
        for candidate in (package, package.parent / "numpy.libs"):  # wheels bundle BLAS
            if candidate.exists():
                os.symlink(candidate, site / candidate.name)
    return site


def run_module(path: Path, calls: list[tuple[str, list]], tmp: Path) -> dict:
    """Import the module at ``path`` without s2sad and call ``name(*args)`` for each call
    (lists become arrays); returns ``{"results": [...], "loaded": [...]}``, ``loaded``
    being the modules in ``sys.modules`` once the module is imported."""
    argv = [sys.executable, "-I", "-S", "-B", "-c", _CHILD, str(path.parent), str(numpy_only(tmp)),
            path.stem, json.dumps([[name, list(args)] for name, args in calls])]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          cwd=tmp, env={"PATH": os.environ.get("PATH", "")})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)
