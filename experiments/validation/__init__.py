"""Validation: the model against data (``crypto-abm validate``, ``crypto-abm calibrate``).

- ``backtest``              the mining side: the 2019-2024 hashrate history, the halving dip;
- ``backtest_adoption``     the household side: measured ownership across countries, El Salvador 2021;
- ``calibrate``             fit the miners' response to the hashrate history;
- ``calibrate_households``  fit the adoption rule and El Salvador's wallet bonus;
- ``validate``              run the backtests and write ``docs/VALIDATION.md``.

These use the model (and its scenarios) only; the command line is :mod:`experiments.cli`.
"""
