"""``python -m experiments ...`` is the same as ``crypto-abm ...``."""

import sys

from experiments.cli import main

sys.exit(main())
