"""``python -m benchmarks``: run the control-flow benchmark (``--help`` for options)."""

import sys

from .run import main

sys.exit(main())
