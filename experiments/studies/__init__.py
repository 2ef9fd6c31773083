"""Research studies: each one a sweep (a spec in ``experiments/sweeps/study_*.toml``) plus an analysis.

``crypto-abm study NAME [--quick] [--out DIR] [--workers N]`` runs one (the command line,
:mod:`experiments.cli`, imports the module ``experiments.studies.NAME`` and calls its
``run``); ``experiments/studies/common.py`` holds what they share. This ``__init__`` imports
nothing: the command line reads :data:`STUDIES` on every start.
"""

STUDIES = {
    "pak_package": "Pakistan's 2025 package vs no package, paired seeds: PAK hashrate share, regional volume",
    "contagion": "BGD, LKA, AFG, NPL: probability and timing of stance changes by 2030, with/without the package",
    "tariff_price": "PAK hashrate and MW filled over mining tariff x BTC price",
    "halving_2028": "dip and recovery of network and regional hashrate around the 2028 halving",
    "sensitivity": "Morris screening of every behavioural, mining and market parameter, then Sobol on the top ones",
    "ai_demand": "PAK mining MW, hashrate share and revenue under its 2,000 MW over AI load x mining tariff",
}
