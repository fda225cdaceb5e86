"""Generated source under different ``PYTHONHASHSEED`` values, for determinism tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

_SCRIPT = textwrap.dedent("""
    import importlib.util, sys
    import s2sad
    out = []
    for path in sys.argv[1:]:
        spec = importlib.util.spec_from_file_location("m", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for transform in (s2sad.grad, s2sad.jvp):
            out.append(s2sad.source(transform(module.f, wrt=(0, 1, 2))))
    sys.stdout.write("\\n#####\\n".join(out))
""")


def sources_per_hash_seed(paths: list[str], hash_seeds=("1", "2")) -> list[str]:
    """For each hash seed, the grad and jvp source of each file's ``f``, joined by #####."""
    outputs = []
    for hash_seed in hash_seeds:
        env = dict(os.environ, PYTHONHASHSEED=hash_seed,
                   PYTHONPATH=os.pathsep.join([str(Path(__file__).parent.parent)] + sys.path))
        result = subprocess.run([sys.executable, "-c", _SCRIPT, *paths], env=env,
                                capture_output=True, text=True, check=True)
        outputs.append(result.stdout)
    return outputs
