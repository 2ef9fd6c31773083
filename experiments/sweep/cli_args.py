"""Options of ``crypto-abm analyze`` and ``crypto-abm study``, kept apart so ``experiments/cli.py``
stays small and its start light (nothing heavy is imported here)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

DEFAULT_RESAMPLES = 1000
DEFAULT_CONF = 0.95
STUDY_FORCE_HELP = "as for run; a study's folder is resumed and nothing in it is removed, so it changes nothing"


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {value}")
    return value


def _level(text: str) -> float:
    """A confidence level: a finite number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (e.g. 0.95): {text}")
    return value


def add_analyze_arguments(p) -> None:
    p.add_argument("folder", type=Path, help="a sweep folder (the --out of crypto-abm sweep)")
    p.add_argument("--outcome", "--outcomes", dest="outcomes", action="extend", nargs="+", metavar="NAME[=EXPR]",
                   help='outcomes, e.g. "pak_share=last(hashrate_share@PAK)", or the name of one in the spec\'s '
                        "[analysis] (default: all of those); syntax in experiments/sweeps/README.md")
    p.add_argument("--fan", action="extend", nargs="+", metavar="METRIC@COUNTRIES",
                   help='fan-chart series, e.g. "hashrate_share@PAK" (default: the spec\'s, else the outcomes\')')
    p.add_argument("--fan-by", choices=["auto", "pooled", "point"],
                   help="fan charts per design point or pooled over all runs (default auto)")
    p.add_argument("--prim", action="extend", nargs="+", metavar="NAME",
                   help="yes/no outcomes for PRIM scenario discovery (default: every yes/no outcome)")
    p.add_argument("--resamples", type=_at_least_one, help=f"bootstrap resamples of the indices (default {DEFAULT_RESAMPLES})")
    p.add_argument("--conf-level", type=_level, help=f"confidence level of the intervals (default {DEFAULT_CONF})")
    p.add_argument("--no-figures", action="store_true", help="tables and report only, no PNGs")


def add_study_arguments(p) -> None:
    from experiments.studies import STUDIES
    p.add_argument("name", choices=list(STUDIES), help="; ".join(f"{k}: {v}" for k, v in STUDIES.items()))
    p.add_argument("--quick", action="store_true", help="a small version that runs in a minute or two")
    p.add_argument("--out", type=Path, help="output folder (default runs/studies/NAME, or NAME-quick)")
    p.add_argument("--force", action="store_true", help=STUDY_FORCE_HELP)
    p.add_argument("--workers", type=_at_least_one, help="runs at once (default: the CPU cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
