"""Analysis of sweep folders (``crypto-abm analyze DIR``; :func:`experiments.analysis.analyze.analyze`).

It reads what :mod:`experiments.sweep` wrote (the manifest, the design, the run files) and
never runs the model:

- ``outcomes``  one number per run from the kept rows (the outcome language is
                :mod:`experiments.sweep.outcomes`, checked when a spec is loaded);
- ``tables``    per design point, across runs, replicate noise (:class:`Analysis` holds them);
- ``indices``   Sobol and Morris indices with SALib;
- ``prim``      PRIM scenario discovery for yes/no outcomes;
- ``figures``   fan charts, index bars, PRIM trajectories;
- ``report``    the printed summary and ``report.md``;
- ``analyze``   all of it for one sweep folder, written to ``DIR/analysis/``.
"""
