"""Ensembles: one question answered by many members (seeds, and with ``fitted`` the fits' draws)
instead of by seed 0, reported as quantile bands, medians and 90% intervals.

An ensemble is a sweep (:mod:`experiments.sweep`: the same storage, resume and executors)
whose spec :mod:`experiments.ensemble.members` writes; :mod:`experiments.ensemble.summary`
turns its folder into bands, the members' headline outcomes and the split of their variance
between the price path and the rest; :mod:`experiments.ensemble.report` writes the figures and
``report.md``. The command is ``crypto-abm ensemble SCENARIO`` (README, "Ensembles").
"""

from experiments.ensemble.members import EnsembleOptions, market_seeds, run_ensemble

__all__ = ["EnsembleOptions", "market_seeds", "run_ensemble"]
