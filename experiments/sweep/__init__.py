"""Batch parameter sweeps: a spec file -> a design table -> one Parquet file per run.

``crypto-abm sweep SPEC.toml`` and ``crypto-abm results DIR`` are the front door
(``experiments/cli.py``); the pieces are small modules so each can be tested alone:

- ``spec``     read and validate a sweep spec (TOML), against the scenario it varies;
- ``design``   the design table (grid, Latin hypercube, Sobol, Morris) and the seeds;
- ``worker``   what runs in a worker process: one model run -> Parquet bytes;
- ``storage``  the sweep folder: manifest, design, atomic run files, failures, resume;
- ``runner``   executors (process pool, Dask) and the bounded submit/collect loop;
- ``results``  DuckDB over the folder: a summary and SQL;
- ``outcomes`` the outcome language of a spec's ``[analysis]`` table (checked with the spec;
  :mod:`experiments.analysis` computes and analyses outcomes).

The engine imports the model and :mod:`experiments.provenance` / :mod:`experiments.outdir`,
never :mod:`experiments.analysis` or :mod:`experiments.studies` (``tests/test_layers.py``).

This package's ``__init__`` imports nothing heavy: the command line imports
:class:`SpecError` from here on every start.
"""

from experiments.sweep.errors import SpecError

__all__ = ["SpecError"]
