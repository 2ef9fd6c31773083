"""Named unit conversions, so a bare ``1e6`` never has to say which of several things it means.

A leaf module (it imports nothing): agents and model code both use it. Conversions are
written as divisions or multiplications by these constants in the same places the bare
numbers stood, so every float operation is unchanged (``x / 1e6`` and ``x / TH_PER_EH``
are the same operation; ``x * 1e-6`` would not be).
"""

TH_PER_PH = 1e3   # hashrate: TH/s in a PH/s
TH_PER_EH = 1e6   # hashrate: TH/s in an EH/s
PH_PER_EH = 1e3   # hashrate: PH/s in an EH/s
PH_PER_TH = 1e-3  # hashrate: PH/s in a TH/s

W_PER_KW = 1e3    # power
W_PER_MW = 1e6    # power

HOURS_PER_DAY = 24.0
DAYS_PER_WEEK = 7.0
DAYS_PER_YEAR = 365.25  # a step's length in years is step_days / DAYS_PER_YEAR

PERCENT = 100.0          # a percentage over PERCENT is a share (0-1)
PER_MILLION = 1e6        # people in a million (populations are given in millions)
USD_PER_BN = 1e9         # for messages: USD in a billion
