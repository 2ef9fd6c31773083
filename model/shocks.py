"""Dated shocks: one apply function per shock class of ``model.config``, dispatched on the class.

:func:`apply_shocks` is the shock phase of the week: the enabled shocks dated in
(last date, today], in scenario order, then the endings whose date has come (temporary
mining bans, moratoria on new mining connections, power emergencies, seasonal moves, recurring
reserve programmes). What each kind means is
said by its class in ``model/config.py``; what it does to the model is the function
registered for that class below.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import singledispatch
from typing import TYPE_CHECKING

from agents.country import Country
from agents.datacentre import DataCentre
from model.config import (
    AdoptionIncentive,
    AiDemand,
    AllianceEdge,
    EnergyAllocation,
    MiningBan,
    MiningMoratorium,
    PowerEmergency,
    PriceShock,
    ReservePurchase,
    SeasonalMove,
    Signal,
    StanceChange,
)
from model.country_network import neighbour_weights
from model.scenario import show_value
from model.units import DAYS_PER_WEEK

if TYPE_CHECKING:
    from model.model import CryptoAdoptionModel


def _amount(x: float) -> str:
    """A quantity for the event log: 4000.0 -> "4,000", 2500.5 -> "2,500.5"."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.6g}"


#: Country fields a dated shock sets until an end date: (field, its end date, the value it goes
#: back to at the end, the end's event kind, what the event says). The event logs the field's
#: value before and after.
TEMPORARY_FIELDS = (
    ("mining_banned", "mining_ban_until", False, "mining_ban_end", "temporary mining ban ended"),
    ("mining_moratorium", "mining_moratorium_until", False, "mining_moratorium_end",
     "moratorium on new mining connections ended"),
    ("moving_share", "moving_until", 0.0, "seasonal_move_end", "seasonal move ended: the machines run again"),
)


def apply_shocks(model: CryptoAdoptionModel, after: dt.date, upto: dt.date) -> None:
    """Apply enabled shocks dated in (after, upto], then end mining bans, moratoria, power
    emergencies and seasonal moves whose time is up (one shorter than a step is logged but never
    reaches the miners)."""
    for sid, shock in model.config.shocks.items():
        if shock.enabled and after < shock.date <= upto:
            apply(shock, model, sid, shock_cause(model, sid, shock))
    for code, c in model.countries.items():
        for field, until, off, kind, what in TEMPORARY_FIELDS:
            if getattr(c, until) is not None and getattr(c, until) <= upto:
                model.log(code, kind, getattr(c, field), off, what)
                setattr(c, field, off)
                setattr(c, until, None)
        if c.power_emergency_until is not None and c.power_emergency_until <= upto:
            c.power_emergency_until = None
            model.log(code, "power_emergency_end", None, None, "power emergency ended: mining may draw power again")
        buy_reserves(model, c, upto)


def buy_reserves(model: CryptoAdoptionModel, c: Country, upto: dt.date) -> None:
    """Recurring state purchases: a step's worth of each programme, which ends after its date."""
    for programme in list(c.reserve_programmes):
        sid, per_week, until = programme
        if until is not None and until < upto:
            c.reserve_programmes.remove(programme)
            model.log(c.code, "reserve_programme_end", per_week, 0, f"shock {sid}: purchases end on {until}")
            continue
        c.reserve_btc += per_week * model.step_days / DAYS_PER_WEEK


def shock_cause(model: CryptoAdoptionModel, sid: str, shock) -> str:
    """"shock ID: description", the description marked when a field of the shock was
    overridden: it was written for the file's values, the event shows those in force."""
    cause = f"shock {sid}: {shock.description}".rstrip(": ")
    changed = {k: v for k, v in model.spec.overridden_fields(f"shocks.{sid}").items()
               if k not in ("enabled", "description")}
    if changed:
        cause += " [overridden: " + ", ".join(f"{k}={show_value(v)}" for k, v in changed.items()) + "]"
    return cause


@singledispatch
def apply(shock, model: CryptoAdoptionModel, sid: str, cause: str) -> None:
    """Apply one shock on its date (``cause`` is the event log's text for it)."""
    raise TypeError(f"no rule for a shock of class {type(shock).__name__}")


@apply.register(StanceChange)
def _stance_change(shock: StanceChange, model: CryptoAdoptionModel, sid: str, cause: str) -> None:
    c = model.countries[shock.country]
    old = c.stance
    c.set_stance(shock.to, model.weeks)
    model.log(c.code, "stance", old, c.stance, cause)


@apply.register(Signal)
def _signal(shock: Signal, model: CryptoAdoptionModel, sid: str, cause: str) -> None:
    c = model.countries[shock.country]
    c.signals.append((model.weeks, shock.strength, shock.half_life_weeks))
    model.log(c.code, "signal", None, shock.strength, cause)


@apply.register(EnergyAllocation)
def _energy_allocation(shock: EnergyAllocation, model: CryptoAdoptionModel, sid: str, cause: str) -> None:
    c = model.countries[shock.country]
    old = c.mining_allowance_mw
    c.mining_allowance_mw = shock.mw
    c.mining_tariff_usd_per_kwh = shock.tariff_usd_per_kwh
    model.log(c.code, "energy_allocation", old, shock.mw,
              f"{cause} ({_amount(shock.mw)} MW at ${shock.tariff_usd_per_kwh}/kWh)")


@apply.register(ReservePurchase)
def _reserve_purchase(shock: ReservePurchase, model: CryptoAdoptionModel, sid: str, cause: str) -> None:
    c = model.countries[shock.country]
    old = c.reserve_btc
    c.reserve_btc += shock.btc
    if shock.btc_per_week > 0:
        c.reserve_programmes.append((sid, shock.btc_per_week, shock.until))
        cause += f" (then {shock.btc_per_week:g} BTC a week until {shock.until or 'the end'})"
    model.log(c.code, "reserve", old, c.reserve_btc, cause)


@apply.register(AllianceEdge)
def _alliance_edge(shock: AllianceEdge, model: CryptoAdoptionModel, sid: str, cause: str) -> None:
    code = shock.country
    model.country_graph.add_edge(code, shock.partner, key=sid, kind="alliance", weight=shock.weight)
    for c in (code, shock.partner):
        model.neighbours[c] = neighbour_weights(model.country_graph, c, model.config.policy.edge_kind_weights)
    model.log(code, "alliance", None, shock.partner, cause)


@apply.register(PriceShock)
def _price_shock(shock: PriceShock, model: CryptoAdoptionModel, sid: str, cause: str) -> None:
    old = model.market.price_usd
    model.market.apply_price_shock(shock.factor)
    model.log(shock.country, "price_shock", round(old, 2), round(model.market.price_usd, 2), cause)


@apply.register(MiningBan)
def _mining_ban(shock: MiningBan, model: CryptoAdoptionModel, sid: str, cause: str) -> None:
    c = model.countries[shock.country]
    c.mining_banned, c.mining_ban_until = True, shock.until
    model.log(c.code, "mining_ban", False, True, cause + (f" (until {shock.until})" if shock.until else ""))


@apply.register(MiningMoratorium)
def _mining_moratorium(shock: MiningMoratorium, model: CryptoAdoptionModel, sid: str, cause: str) -> None:
    c = model.countries[shock.country]
    before, c.mining_moratorium, c.mining_moratorium_until = c.mining_moratorium, True, shock.until
    model.log(c.code, "mining_moratorium", before, True, cause + (f" (until {shock.until})" if shock.until else ""))


@apply.register(AdoptionIncentive)
def _adoption_incentive(shock: AdoptionIncentive, model: CryptoAdoptionModel, sid: str, cause: str) -> None:
    if model.households is None:
        model.log(shock.country, "adoption_incentive", None, None, f"{cause} (no household agents: no effect)")
    else:
        model.households.recruit(sid, shock, cause)


@apply.register(PowerEmergency)
def _power_emergency(shock: PowerEmergency, model: CryptoAdoptionModel, sid: str, cause: str) -> None:
    c = model.countries[shock.country]
    c.power_emergency_until = shock.until
    model.log(c.code, "power_emergency", None, str(shock.until), cause)


@apply.register(SeasonalMove)
def _seasonal_move(shock: SeasonalMove, model: CryptoAdoptionModel, sid: str, cause: str) -> None:
    c = model.countries[shock.country]
    c.moving_share, c.moving_until = shock.share, shock.until
    model.log(c.code, "seasonal_move", 0.0, shock.share, f"{cause} (until {shock.until})")


@apply.register(AiDemand)
def _ai_demand(shock: AiDemand, model: CryptoAdoptionModel, sid: str, cause: str) -> None:
    code = shock.country
    ready = model.t + math.ceil(shock.lead_weeks * DAYS_PER_WEEK / model.step_days)
    model.datacentres.append(DataCentre(model, code, shock.mw, shock.willingness_to_pay_usd_per_mwh,
                                        ready, name=sid))
    model.log(code, "ai_demand", None, shock.mw,
              f"{cause} (${shock.willingness_to_pay_usd_per_mwh}/MWh, "
              f"ready {model.dates[min(ready, len(model.dates) - 1)]})")
