"""The views: date banner, network map, charts, focus-country panel, event log, counterfactual.

:class:`ChartSet` holds one session's chart objects for one model and focus country;
the components below redraw a chart only when what it shows changed (the week, the
counterfactual, the map's stances and node sizes, the number of events), each through
``solara.use_memo``. The counterfactual run happens once per change of settings in a
background thread (``solara.use_thread``); its lines are then drawn up to the live date.
"""

from __future__ import annotations

import html
import time

import numpy as np
import reacton.ipyvuetify as rv
import solara

from viz.compare_panel import CompareRuns
from viz.data import CounterfactualRun, RunArrays, exchanges_pending, exchanges_present, fleet_bands, stance_label
from viz.ensemble_band import use_ensemble
from viz.fastfig import format_usd
from viz.live_chart import LiveChart
from viz.market_panel import MarketPanel
from viz.network_view import NetworkMap, map_inputs, positions, signature
from viz.settings import Settings
from viz.state import Controller, Live, run_in_background
from viz.time_charts import (
    Ensemble,
    TimePanel,
    adoption_panel,
    country_colors,
    exchange_panel,
    fleet_option,
    hashrate_panel,
    power_panel,
    volume_panel,
)

CARD_STYLE = {"padding": "6px", "margin": "0 0 10px 0"}


# ------------------------------------------------------------------ chart objects of one session
class ChartSet:
    """All charts for one model, focus country and exchange market (built once, fed per step)."""

    def __init__(self, model, settings: Settings, exchange_country: str):
        base = settings.base()
        focus = settings.focus if settings.focus in model.countries else model.codes[0]
        codes = list(model.codes)
        region = list(model.household_countries)
        self.focus = focus
        self.colors = country_colors(codes, focus)
        names = dict(base.countries)
        dates = model.dates
        marks = [(sh.date, f"{focus} {sh.kind}") for sh in model.config.shocks.values()
                 if sh.country == focus and sh.enabled and sh.kind != "signal"]
        marks += [(h.date, f"halving: {h.subsidy_btc:g} BTC") for h in model.config.market.halvings.values()
                  if dates[0] <= h.date <= dates[-1]]
        self.hashrate = hashrate_panel(dates, codes, self.colors, focus, marks)
        self.volume = volume_panel(dates, region, self.colors, focus, marks)
        self.exchange_country = exchange_country
        self.exchange = exchange_panel(dates, RunArrays.of(model).exchanges, exchange_country,
                                       names.get(exchange_country, exchange_country), marks)
        self.adoption = adoption_panel(dates, region, self.colors, focus, marks)
        self.power = power_panel(dates, focus, names.get(focus, focus), marks)
        self.network = NetworkMap(codes=codes, pos=positions(model.country_graph, model.countries), focus=focus,
                                  names=names)


def exchange_country_of(model, s: Settings) -> str:
    markets = list(model.household_countries)
    if s.exchange_country in markets:
        return s.exchange_country
    if s.focus in markets:
        return s.focus
    return markets[0] if markets else s.focus


# ------------------------------------------------------------------ the counterfactual
def use_counterfactual(ctl: Controller, live: Live, s: Settings):
    """(CounterfactualRun or None, status text). Runs once per change of settings, in a thread.

    The model inputs come from the live run's own settings (so the counterfactual always
    matches the model shown); the shocks to switch off are the view's choice."""
    built = live.settings
    overrides = built.counterfactual_overrides(s.cf_shocks())
    off = tuple(sorted(p.split(".")[1] for p, v in (overrides or {}).items()
                       if p.endswith(".enabled") and v is False and p not in built.overrides))
    key = (live.generation, tuple(sorted((overrides or {}).items())))

    def compute(cancel):
        if overrides is None:
            return None
        t0 = time.perf_counter()
        run = run_in_background(ctl, built, overrides, cancel)
        return None if run is None else CounterfactualRun(key, off, run, time.perf_counter() - t0)

    result = solara.use_thread(compute, dependencies=[key], intrusive_cancel=False)
    run = result.value if isinstance(result.value, CounterfactualRun) and result.value.key == key else None
    if overrides is None:
        status = "counterfactual: no shock chosen (or all already off)"
    elif run is not None:
        status = f"counterfactual ready: {len(off)} shock(s) off, full run in {run.seconds:.1f} s"
    elif result.error is not None and result.state == solara.ResultState.ERROR:
        status = f"counterfactual failed: {result.error}"
    else:
        status = f"counterfactual: computing ({len(off)} shock(s) off)..."
    return run, status


# ------------------------------------------------------------------ small components
@solara.component
def Png(png: bytes, name: str):
    solara.Image(png, width="100%", classes=["viz-chart", f"viz-{name}"])


@solara.component
def TimeChart(ctl: Controller, panel: TimePanel, model, cf: RunArrays | None, ens: Ensemble | None, t: int,
              name: str, height: int = 300):
    """A :class:`TimePanel` as a live chart: its option is rebuilt when the counterfactual or
    the ensemble band arrives or changes; each week adds its points."""
    option = solara.use_memo(lambda: panel.option(RunArrays.of(model), cf, t, ens), [panel, id(cf), id(ens)])
    solara.Text(panel.summary(RunArrays.of(model), t), classes=[f"viz-today-{name}"],
                style={"font-size": "0.8rem", "color": "#333", "padding-left": "4px"})
    LiveChart(option, lambda start: ctl.timing.timed(panel.data, RunArrays.of(model), cf, t, start, ens), t,
              height=height, name=name)


@solara.component
def DateBanner(m, t: int):
    if m is None:
        solara.Text("no model", classes=["viz-date"])
        return
    with solara.Row(gap="12px", style={"align-items": "baseline", "flex-wrap": "wrap"}):
        solara.Text(m.date.isoformat(), classes=["viz-date"],
                    style={"font-size": "1.7rem", "font-weight": "700", "font-variant-numeric": "tabular-nums"})
        solara.Text(f"week {m.t} of {len(m.dates) - 1} ({m.dates[0]} to {m.dates[-1]}), "
                    f"scenario {m.config.name}, seed {m.seed}, {m.config.run.households:,} households",
                    classes=["viz-week"], style={"color": "#555"})


@solara.component
def FocusFacts(model, code: str, names: dict, t: int):
    c = model.countries[code]
    fleet = model.fleets[code]
    network = sum(f.operating_ths for f in model.fleets.values())
    share = fleet.operating_ths / network * 100 if network > 0 else 0.0
    cap = c.mining_allowance_mw
    # the last recorded week: a step in progress on another thread has moved t but not yet recorded it
    week = min(t, model.recorder.last_step)
    ai_mw = model.value("ai_power_mw", code, step=week) or 0.0
    present = exchanges_present(model, code)
    pending = exchanges_pending(model, code)
    rows = [
        ("stance", stance_label(c.stance) + (" (mining banned)" if c.mining_banned else "")),
        ("hashrate", f"{fleet.operating_ths / 1e6:,.1f} EH/s ({share:.1f}% of network)"),
        ("power", f"mining {fleet.operating_mw:,.0f} MW, AI {ai_mw:,.0f} MW, "
                  f"curtailed {fleet.curtailed_mw:,.0f} MW, of "
                  + ("no cap" if cap is None else f"{cap:,.0f} MW allowed")
                  + f" at ${c.mining_tariff_usd_per_kwh:.3f}/kWh"),
        ("fleet", f"{fleet.installed_ths / 1e6:,.1f} EH/s installed, "
                  f"{sum(p[1] for p in fleet.pipeline) / 1e6:,.1f} EH/s on order"),
        ("exchanges", (", ".join(present) if present else "none licensed (P2P only)")
         + (f"; entering: {', '.join(pending)}" if pending else "")),
    ]
    if code in model.household_countries:
        vol = model.exchange_volumes_usd(code, step=week)
        total = sum(vol.values())
        p2p = vol.get("P2P", 0.0)
        rows += [("adoption", f"{c.adoption_rate * 100:.2f}% ({c.adoption_rate * c.population / 1e6:,.1f} M people)"),
                 ("volume", f"{format_usd(total)} per week ({p2p / total * 100 if total else 0:.0f}% P2P)")]
        remit, crypto = model.remittances_usd(code)
        if remit > 0:
            rows.append(("remittances", f"{format_usd(remit)} per week in; {crypto / remit * 100:.1f}% "
                                        f"({format_usd(crypto)}) over crypto rails"))
    else:
        rows += [("households", "no household layer in this scenario")]
    if c.reserve_btc:
        rows.append(("reserve", f"{c.reserve_btc:,.0f} BTC"))
    moves = policy_moves(model, code)
    rows.append(("policy so far", "; ".join(moves[-6:]) if moves else "no stance change or allocation yet"))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    solara.HTML(tag="div", unsafe_innerHTML=(
        f"<div class='viz-facts-title'>{html.escape(names.get(code, code))} ({code}) on {model.date}</div>"
        f"<table class='viz-facts'>{body}</table>"), classes=["viz-focus-facts"])


POLICY_KINDS = {"stance": "stance", "energy_allocation": "power allocation", "alliance": "alliance with",
                "mining_ban": "mining ban", "mining_ban_end": "mining ban ended", "reserve": "reserve",
                "price_shock": "price shock", "mining_moratorium": "moratorium on new mining connections",
                "mining_moratorium_end": "moratorium ended"}


def policy_moves(model, code: str) -> list[str]:
    """The country's dated policy events so far, short: '2025-07-09 stance 1 -> 3'."""
    out = []
    for ev in model.events:
        if ev.get("country") != code or ev.get("kind") not in POLICY_KINDS:
            continue
        old, new = ev.get("from", ""), ev.get("to", "")
        change = f"{old} \u2192 {new}" if old != "" and new != "" else f"{new or old}"
        if ev["kind"] == "energy_allocation":
            change += " MW"
        out.append(f"{ev['date']} {POLICY_KINDS[ev['kind']]} {change}".strip())
    return out


def events_html(frame, focus: str, limit: int = 400, only_focus: bool = False) -> str:
    if only_focus:
        frame = frame[frame["country"] == focus]
    if frame.empty:
        return "<div class='viz-empty'>No events yet.</div>"
    rows = []
    for rec in frame.iloc[::-1].head(limit).itertuples(index=False):
        date, country, kind, old, new, cause = rec
        change = f"{old} &rarr; {new}" if old != "" and new != "" else html.escape(str(new or old))
        cls = " class='viz-ev-focus'" if country == focus else ""
        if old != "" and new != "":
            change = f"{html.escape(str(old))} &rarr; {html.escape(str(new))}"
        rows.append(f"<tr{cls}><td>{date}</td><td>{html.escape(str(country))}</td><td>{html.escape(str(kind))}</td>"
                    f"<td>{change}</td><td>{html.escape(str(cause))}</td></tr>")
    head = "<tr><th>date</th><th>country</th><th>kind</th><th>change</th><th>cause</th></tr>"
    return f"<table class='viz-events'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def event_count(model) -> int:
    return len(model.events)


@solara.component
def EventLog(model, focus: str, generation: int, n: int):
    only, set_only = solara.use_state(False)
    content = solara.use_memo(lambda: events_html(model.events_frame(), focus, only_focus=only),
                              [generation, n, focus, only])
    with solara.Card(f"Event log: {n} dated stance changes, shocks, entries and relocations (newest first)",
                     style=CARD_STYLE, classes=["viz-events-card"]):
        solara.Switch(label=f"only {focus}", value=only, on_value=set_only, classes=["viz-events-focus-only"])
        solara.HTML(tag="div", unsafe_innerHTML=content, classes=["viz-events-box"])


# ------------------------------------------------------------------ the dashboard
@solara.component
def Dashboard(ctl: Controller, live: Live | None, s: Settings, t: int):
    if live is None:
        solara.Warning("No model: fix the settings.")
    else:
        LiveDashboard(ctl, live, s, t)


@solara.component
def LiveDashboard(ctl: Controller, live: Live, s: Settings, t: int):
    model = live.model
    cf, cf_status = use_counterfactual(ctl, live, s)
    ens, ens_status = use_ensemble(ctl, live)
    ex_country = exchange_country_of(model, s)
    charts = solara.use_memo(lambda: ChartSet(model, s, ex_country), [live.generation, s.focus, ex_country])
    cfa = cf.arrays if cf is not None else None

    net_sig = signature(model)
    timed = ctl.timing.timed
    net_png = solara.use_memo(lambda: timed(charts.network.update, **map_inputs(model)), [charts, net_sig])
    fleet = fleet_bands(model.fleets[charts.focus])
    # a country that has never had a machine gets no fleet chart (not an empty axis)
    mined = np.nan_to_num(RunArrays.of(model).metric("hashrate_ehs")[:, model.codes.index(charts.focus)])
    has_fleet = bool(mined.any() or fleet.pipeline_ehs > 0
                     or fleet.running.sum() + fleet.underground.sum() + fleet.idle.sum() > 0)
    # the household panels (volume, exchanges, adoption) only for a scenario with households:
    # a miners-only scenario hides them rather than show empty axes
    has_households = bool(model.household_countries)

    def close_timing():
        ctl.timing.finish(model.date)

    solara.use_effect(close_timing, [t, live.generation])

    names = dict(s.base().countries)
    solara.Text(cf_status + ". " + ens_status + ". " + ctl.timing.summary() + ".", classes=["viz-status"],
                style={"font-size": "0.8rem", "color": "#555"})
    with solara.Columns([11, 9], gutters_dense=True):
        with solara.Card(style=CARD_STYLE, classes=["viz-network-card"]):
            Png(net_png, "network")
        with solara.Card(style=CARD_STYLE, classes=["viz-hashrate-card"]):
            TimeChart(ctl, charts.hashrate, model, cfa, ens, t, "hashrate", height=420)
    with solara.Card(style=CARD_STYLE, classes=["viz-market-card"]):
        MarketPanel(model, live.generation, t)
    with solara.Card(style=CARD_STYLE, classes=["viz-compare-card"]):
        CompareRuns(ctl, model, live.settings, charts.focus, live.generation, t)
    if has_households:
        with solara.Columns([1, 1], gutters_dense=True):
            with solara.Card(style=CARD_STYLE, classes=["viz-volume-card"]):
                TimeChart(ctl, charts.volume, model, cfa, ens, t, "volume", height=360)
            with solara.Card(style=CARD_STYLE, classes=["viz-exchange-card"]):
                items = [{"text": f"{c} {names.get(c, c)}", "value": c} for c in model.household_countries]
                rv.Select(label="Country for the split by exchange", items=items, v_model=ex_country, dense=True,
                          hide_details=True, class_="viz-exchange-country",
                          on_v_model=lambda c: c and ctl.apply(s.replace(exchange_country=c)))
                TimeChart(ctl, charts.exchange, model, cfa, ens, t, "exchange", height=320)
    with solara.Columns([1, 1] if has_households else [1], gutters_dense=True):
        if has_households:
            with solara.Card(style=CARD_STYLE, classes=["viz-adoption-card"]):
                TimeChart(ctl, charts.adoption, model, cfa, ens, t, "adoption", height=360)
        with solara.Card(style=CARD_STYLE, classes=["viz-focus-card"]):
            FocusFacts(model, charts.focus, names, t)
            TimeChart(ctl, charts.power, model, cfa, ens, t, "power", height=300)
            if has_fleet:
                solara.FigureEcharts(option=fleet_option(fleet), attributes={"style": "height: 240px;",
                                                                           "class": "viz-fleet"})
    EventLog(model, charts.focus, live.generation, event_count(model))
