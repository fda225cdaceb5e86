"""s2sad's speed benchmarks: ``python -m benchmarks`` (see benchmarks/README.md).

Importing this package pins every numerical library to one thread before any of them is
imported, so that timings on a shared machine compare one core with one core.
"""

import os
import sys

# True when numpy was loaded before this package (then the variables may come too late).
NUMPY_LOADED_FIRST = "numpy" in sys.modules
SINGLE_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                      "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS")
XLA_SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

for _var in SINGLE_THREAD_VARS:
    os.environ[_var] = "1"
if XLA_SINGLE_THREAD not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + XLA_SINGLE_THREAD).strip()
