"""What a miner's machine costs, stated once: its power bill, its cash operating cost and its
capital per TH/s. The miners (``agents/miner.py``) run and order on these, and the
validation's data-only checks (``experiments/validation/halving_margins.py``) price the
data's machines with them, so the two cannot disagree (docs/ODD.md 7.3).

Units: efficiency in J/TH, tariffs in USD/kWh, costs in USD per TH/s per day, capital in
USD per TH/s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.units import HOURS_PER_DAY, W_PER_KW, W_PER_MW

if TYPE_CHECKING:
    from model.config import MiningConfig


KWH_PER_TH_DAY_PER_J = HOURS_PER_DAY / W_PER_KW  # 1 J/TH at 1 TH/s for 24 h = 0.024 kWh


def energy_cost_usd_per_th_day(efficiency_j_per_th, pue: float, tariff_usd_per_kwh: float):
    """Power cost of one TH/s for a day, USD: ``power(e, tariff) = e x pue x 0.024 x tariff``
    (1 J/TH at 1 TH/s for 24 h is 0.024 kWh)."""
    return np.asarray(efficiency_j_per_th) * pue * KWH_PER_TH_DAY_PER_J * tariff_usd_per_kwh


def cash_cost_usd_per_th_day(efficiency_j_per_th, cfg: MiningConfig, tariff_usd_per_kwh: float):
    """Cash operating cost of one TH/s for a day, USD: ``cost(e, tariff) = power(e, tariff) /
    power_share_of_cash_cost``, the power bill plus the other cash costs (staff, maintenance,
    hosting), which ``power_share_of_cash_cost`` sizes from it (power is ~80% of miners' cash
    costs, CCAF 2025)."""
    return energy_cost_usd_per_th_day(efficiency_j_per_th, cfg.pue, tariff_usd_per_kwh) / cfg.power_share_of_cash_cost


def running_cost_usd_per_th_day(efficiency_j_per_th, cfg: MiningConfig, tariff_usd_per_kwh: float):
    """What one TH/s saves by switching off for a day, USD: its power bill
    (:func:`energy_cost_usd_per_th_day`). The other cash costs (staff, maintenance, the site)
    are paid whether it runs or not, so a machine runs while its revenue beats its power bill
    (the short-run shutdown rule: price below average variable cost), while the cash cost
    (:func:`cash_cost_usd_per_th_day`) judges new machines."""
    return energy_cost_usd_per_th_day(efficiency_j_per_th, cfg.pue, tariff_usd_per_kwh)


def capital_usd_per_th(efficiency_j_per_th: float, cfg: MiningConfig, *, site: bool = True) -> float:
    """Capital for one TH/s of new machines, USD: the machine and the site it needs,

        capex(e) = machine_price_usd_per_w x e + buildout_usd_per_mw x e x pue / 1e6

    (a machine of e J/TH draws e W per TH/s; its site is sized for the wall power); without
    the second term for a machine that goes into a site already built (``site=False``)."""
    machine = cfg.machine_price_usd_per_w * efficiency_j_per_th
    return machine + cfg.buildout_usd_per_mw * efficiency_j_per_th * cfg.pue / W_PER_MW if site else machine
