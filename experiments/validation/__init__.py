"""Validation: the model against data (``crypto-abm validate``, ``crypto-abm calibrate``).

- ``backtest``              the mining side: the 2019-2024 hashrate history, the halving dip;
- ``backtest_adoption``     the household side: measured ownership across countries, El Salvador 2021;
- ``calibrate``             fit the miners' response to the hashrate history;
- ``calibrate_households``  fit the adoption rule and El Salvador's wallet bonus;
- ``policy_panel``          the country-year panel of national stances (data/policy_*.csv or files by path);
- ``policy_fit``            fit the stance hazards to it (``calibrate policy``), score a panel (``validate policy``);
- ``policy_validation``     the fit's figure and the baseline's region moves against it;
- ``validate``              run the backtests and write ``docs/VALIDATION.md``.

These use the model (and its scenarios) only; the command line is :mod:`experiments.cli`.
"""
