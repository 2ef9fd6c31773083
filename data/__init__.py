"""The data tables the scenarios and the backtests read (what each holds: README.md here).

This folder is a package so that an installed copy carries its tables: the wheel ships
them as package data, and ``table(name)`` is the path of one in a source checkout and in
an installed copy alike. The scenarios name the price series as ``../../data/<table>.csv``,
relative to ``experiments/scenarios/``; that reaches this folder in both too, since
``data/`` and ``experiments/`` sit side by side in the checkout and in site-packages.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def table(name: str) -> Path:
    """The path of a table in this folder, e.g. ``table("hashrate_history.csv")``."""
    return Path(files(__name__) / name)
