"""Exchange: enters and leaves national markets by stance and expected volume.

The markets are the countries with a household layer. Each step (:func:`step_exchanges`)
each exchange ``e``, in scenario order, decides for each market ``c`` with one uniform
``u`` per pair from the exchanges' stream (:meth:`Exchange.step_markets`):

    V_c       = potential volume of c this step / dt      (USD/year, :func:`potential_volume_usd`:
                                                           current price, previous step's adoption)
    others    = sum of the weights of the other exchanges present in c
    income    = fee_pct / 100 x V_c x weight_e / (weight_e + others)
    qualifies = (tier != "local" or c == home) and stance_c >= min_stance_enter
                and income > licence_cost_usd_per_year

* **Present** in ``c``: ``e`` leaves when ``stance_c < min_stance_stay`` (a ban or a
  crackdown); otherwise nothing (there is no economic exit).
* **Pending** application in ``c``: dropped if ``c`` no longer qualifies; otherwise ``e``
  starts operating once ``t >= t_apply + ceil(entry_lead_weeks x 7 / step_days)``.
* **Otherwise**, if ``c`` qualifies and ``u < 1 - exp(-entry_per_year x dt)``, ``e``
  applies (and with a lead of 0 steps starts at once).

Afterwards each market's ``exchange_access`` is whether some exchange is present there
(:func:`update_access`). The ``regional`` and ``global`` tiers behave the same.

A market's trading volume and crypto remittances are then shared among the exchanges
present, or go P2P (:func:`route_trade`, by the rule of :func:`split_volume`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from model.units import DAYS_PER_WEEK, DAYS_PER_YEAR, PERCENT

if TYPE_CHECKING:  # agents see the model only through self.model
    from model.config import ExchangeConfig


P2P = "P2P"


class Exchange(mesa.Agent):
    """A crypto exchange with the set of markets it serves."""

    def __init__(self, model: mesa.Model, name: str, cfg: ExchangeConfig):
        super().__init__(model)
        self.name = name
        self.rules = cfg  # tier, fee, weight, entry and exit rules: fixed for the run
        self.present: set[str] = set(cfg.present)
        self.pending: dict[str, int] = {}  # market -> step it starts operating

    def may_serve(self, market: str) -> bool:
        return self.rules.tier != "local" or market == self.rules.home

    def expected_income_usd_per_year(self, yearly_volume_usd: float, weights_present: float) -> float:
        share = self.rules.weight / (self.rules.weight + weights_present)
        return self.rules.fee_pct / PERCENT * yearly_volume_usd * share

    def step_markets(self, markets: list[tuple[str, int, float, float]], step: int,
                     step_days: float, u: np.ndarray) -> list[tuple[str, str, str]]:
        """Enter and leave markets; returns (market, kind, cause) events.

        ``markets`` holds (code, stance, expected yearly volume USD, weights of the other
        exchanges present); ``u`` one uniform per market, drawn every step.
        """
        events = []
        dt_years = step_days / DAYS_PER_YEAR
        for (code, stance, volume, others), draw in zip(markets, u):
            if code in self.present:
                if stance < self.rules.min_stance_stay:
                    self.present.discard(code)
                    events.append((code, "exchange_exit", f"stance {stance} < {self.rules.min_stance_stay}"))
                continue
            qualifies = (self.may_serve(code) and stance >= self.rules.min_stance_enter
                         and self.expected_income_usd_per_year(volume, others) > self.rules.licence_cost_usd_per_year)
            if code in self.pending:
                if not qualifies:
                    del self.pending[code]
                elif step >= self.pending[code]:
                    del self.pending[code]
                    self.present.add(code)
                    events.append((code, "exchange_entry", f"licensed after stance reached {stance}"))
                continue
            if qualifies and draw < 1.0 - math.exp(-self.rules.entry_per_year * dt_years):
                lead = math.ceil(self.rules.entry_lead_weeks * DAYS_PER_WEEK / step_days)
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


def value_received_usd(model, code: str) -> float:
    """Value received on chain this step in ``code`` (Chainalysis' measure; ``R_c`` of
    docs/ODD.md 7.5, where its fitted equation is stated)."""
    c, v = model.countries[code], model.config.volume
    adopters = c.adoption_rate * c.population
    return adopters * v.value_received_usd_per_adopter_per_year * model.dt_years \
        * (c.gdp_per_capita_usd / v.reference_gdp_per_capita_usd) ** v.income_elasticity \
        * (model.market.price_usd / v.reference_btc_price_usd) ** v.price_elasticity


def potential_volume_usd(model, code: str) -> float:
    """Centralised spot trading this step in ``code`` if every adopter could trade on a licensed
    exchange (``V_c`` of docs/ODD.md 7.5): a fixed share of its value received."""
    return model.config.volume.exchange_share_of_value_received * value_received_usd(model, code)


def step_exchanges(model) -> None:
    """The exchanges' phase of the week: each enters and leaves markets
    (:meth:`Exchange.step_markets`, one uniform per exchange and market from the exchanges'
    stream), then each market's access to a licensed exchange is updated."""
    rng = model.streams["exchanges"]
    u = rng.random((len(model.exchanges), len(model.household_countries)))
    codes = model.household_countries
    # Each market's stance and yearly volume: what the exchanges' decisions this step leave unchanged.
    seen = [(model.countries[code].stance, potential_volume_usd(model, code) / model.dt_years) for code in codes]
    present = present_weights(model)
    for (name, ex), draws in zip(model.exchanges.items(), u):
        markets = [(code, stance, volume, sum(w for e, w in present[code] if e is not ex) if present[code] else 0)
                   for code, (stance, volume) in zip(codes, seen)]
        events = ex.step_markets(markets, model.t, model.step_days, draws)
        for code, kind, cause in events:
            model.log(code, kind, None, name, cause)
        if events:  # an entry or exit changes the weights the next exchanges see
            present = present_weights(model)
    update_access(model)


def present_weights(model) -> dict[str, list[tuple[Exchange, float]]]:
    """Each market's exchanges present, with their weights, in scenario order."""
    return {code: [(e, e.rules.weight) for e in model.exchanges.values() if code in e.present]
            for code in model.household_countries}


def update_access(model) -> None:
    """Whether each market has a licensed exchange present."""
    for code in model.household_countries:
        model.countries[code].exchange_access = any(code in e.present for e in model.exchanges.values())


def route_trade(model) -> np.ndarray:
    """Adopters' trading (from this step's ``model.value_received``) plus remittances over
    crypto rails (``model.remit_crypto_usd``),
    shared among the exchanges present (or P2P: trading at a discount, remittances in
    full): volume by market (household country) and exchange, ``P2P`` last."""
    names = list(model.exchanges) + [P2P]
    col = {n: i for i, n in enumerate(names)}
    volumes = np.zeros((len(model.household_countries), len(names)))
    share = model.config.volume.exchange_share_of_value_received
    for row, code in enumerate(model.household_countries):
        present = [(n, e.rules.weight) for n, e in model.exchanges.items() if code in e.present]
        # potential_volume_usd, from the value received the step has already computed
        flows = (split_volume(share * model.value_received[code], present, model.config.volume.p2p_factor),
                 split_volume(model.remit_crypto_usd.get(code, 0.0), present, 1.0))
        for flow in flows:
            for name, v in flow.items():
                volumes[row, col[name]] += v
    return volumes
