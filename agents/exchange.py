"""Exchange: enters and leaves national markets by stance and expected volume.

Each step, for each country with a household layer (the markets):

* **Exit** when the country's stance falls below ``min_stance_stay`` (a ban or a crackdown).
* **Entry.** A market qualifies when its stance is at least ``min_stance_enter`` (local
  exchanges serve only their ``home``) and the expected fee income beats the licence cost:
  ``fee_pct/100 x yearly volume x weight / (weight + weights already present) >
  licence_cost_usd_per_year``. A qualifying exchange applies with hazard
  ``entry_per_year`` and starts operating ``entry_lead_weeks`` later, if the market still
  qualifies then.

Trading volume of a market is shared among the exchanges present in proportion to their
``weight`` (liquidity). With no licensed exchange present, trade goes P2P and only
``p2p_volume_factor`` of it happens (see :func:`split_volume`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import math

import mesa
import numpy as np

if TYPE_CHECKING:  # agents see the model only through self.model
    from model.config import ExchangeConfig


P2P = "P2P"


class Exchange(mesa.Agent):
    """A crypto exchange with the set of markets it serves."""

    def __init__(self, model: mesa.Model, name: str, cfg: ExchangeConfig):
        super().__init__(model)
        self.name = name
        self.tier = cfg.tier
        self.home = cfg.home
        self.fee_pct = cfg.fee_pct
        self.weight = cfg.weight
        self.min_stance_enter = cfg.min_stance_enter
        self.min_stance_stay = cfg.min_stance_stay
        self.licence_cost_usd_per_year = cfg.licence_cost_usd_per_year
        self.entry_per_year = cfg.entry_per_year
        self.entry_lead_weeks = cfg.entry_lead_weeks
        self.present: set[str] = set(cfg.present)
        self.pending: dict[str, int] = {}  # market -> step it starts operating

    def may_serve(self, market: str) -> bool:
        return self.tier != "local" or market == self.home

    def expected_income_usd_per_year(self, yearly_volume_usd: float, weights_present: float) -> float:
        share = self.weight / (self.weight + weights_present)
        return self.fee_pct / 100.0 * yearly_volume_usd * share

    def step_markets(self, markets: list[tuple[str, int, float, float]], step: int,
                     step_days: float, u: np.ndarray) -> list[tuple[str, str, str]]:
        """Enter and leave markets; returns (market, kind, cause) events.

        ``markets`` holds (code, stance, expected yearly volume USD, weights of the other
        exchanges present); ``u`` one uniform per market, drawn every step.
        """
        events = []
        dt_years = step_days / 365.25
        for (code, stance, volume, others), draw in zip(markets, u):
            if code in self.present:
                if stance < self.min_stance_stay:
                    self.present.discard(code)
                    events.append((code, "exchange_exit", f"stance {stance} < {self.min_stance_stay}"))
                continue
            qualifies = (self.may_serve(code) and stance >= self.min_stance_enter
                         and self.expected_income_usd_per_year(volume, others) > self.licence_cost_usd_per_year)
            if code in self.pending:
                if not qualifies:
                    del self.pending[code]
                elif step >= self.pending[code]:
                    del self.pending[code]
                    self.present.add(code)
                    events.append((code, "exchange_entry", f"licensed after stance reached {stance}"))
                continue
            if qualifies and draw < 1.0 - math.exp(-self.entry_per_year * dt_years):
                lead = math.ceil(self.entry_lead_weeks * 7 / step_days)
                self.pending[code] = step + lead
                if lead == 0:
                    del self.pending[code]
                    self.present.add(code)
                    events.append((code, "exchange_entry", f"licensed after stance reached {stance}"))
        return events


def split_volume(volume_usd: float, present: list[tuple[str, float]], p2p_factor: float) -> dict[str, float]:
    """Share a market's potential volume among the exchanges present, by weight;
    with none present, only ``p2p_factor`` of it trades P2P."""
    total = sum(w for _, w in present)
    if total <= 0:
        return {P2P: volume_usd * p2p_factor}
    return {name: volume_usd * w / total for name, w in present}
