"""``python -m experiments ...`` is the same as ``crypto-abm ...``."""

import sys

from experiments.cli import main

if __name__ == "__main__":  # spawned workers (Dask, multiprocessing) import this module too
    sys.exit(main())
