"""Remittances over crypto rails: receiving households choose bank or crypto.

A remittance corridor (a ``remittance`` edge with ``flow_usd_per_year`` and the bank
``cost_pct`` of sending $200) carries a yearly flow into a receiving country. Receiving
households that hold crypto may take it over crypto rails (stablecoins, P2P); the share
of the corridor that does is

    share = adopting share of receiving households
            x logistic(intercept + cost_weight x (bank cost - crypto_cost_pct)
                       - no_exchange_penalty [no licensed exchange] - ban_penalty [stance 0])

so it rises as the bank corridor gets dearer or crypto cheaper, with exchange access,
and falls under a ban. The crypto part is an output (``remittance_crypto_usd``) and adds
to the receiving country's trading volume.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # agents see the model only through self.model
    from model.config import RemittanceConfig


def crypto_share(adopting_receivers: float, bank_cost_pct: float, cfg: "RemittanceConfig",
                 exchange_access: bool, stance: int) -> float:
    """Share of a corridor's flow sent over crypto rails."""
    x = (cfg.intercept + cfg.cost_weight * (bank_cost_pct - cfg.crypto_cost_pct)
         - (0.0 if exchange_access else cfg.no_exchange_penalty) - (cfg.ban_penalty if stance == 0 else 0.0))
    return adopting_receivers / (1.0 + math.exp(-x))


def remittance_flows(model) -> tuple[dict[str, float], dict[str, float]]:
    """This step's remittance flows into each household country, and their crypto part
    (both empty without remittance settings or household agents)."""
    remit_usd: dict[str, float] = {}
    remit_crypto_usd: dict[str, float] = {}
    cfg = model.config.remittances
    if cfg is None or model.households is None:
        return remit_usd, remit_crypto_usd
    share_adopting = model.households.adopting_receivers()
    for e in model.config.network.edges.values():
        if e.kind != "remittance" or e.flow_usd_per_year is None or e.b not in share_adopting:
            continue
        c = model.countries[e.b]
        flow = e.flow_usd_per_year * model.dt_years
        crypto = flow * crypto_share(share_adopting[e.b], e.cost_pct, cfg, c.exchange_access, c.stance)
        remit_usd[e.b] = remit_usd.get(e.b, 0.0) + flow
        remit_crypto_usd[e.b] = remit_crypto_usd.get(e.b, 0.0) + crypto
    return remit_usd, remit_crypto_usd
