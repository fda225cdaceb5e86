"""``python cli.py ...`` from the repository root: the s2sad command line."""

import sys

from s2sad.cli import main

if __name__ == "__main__":
    sys.exit(main())
