"""The README's headline numbers as intervals from ensembles: ``python -m experiments.validation.headlines``.

Every number of the README section "Headlines (ensembles)" comes from an ensemble
(:func:`experiments.ensemble.run_ensemble`: the sweep engine, each member its own seed, fitted
draws and, with ``all``, a Latin hypercube row over the ranged assumptions), so that after a
change of the model they are rerun by one command, never read off one seed:

- the baseline (``south_asia_2025``): each outcome of :data:`BASELINE` as the median and the
  90% interval (5% and 95% quantiles across members); for the neighbours, the share of members
  whose stance moves within the run, with its Wilson 95% interval, and the spread of the first
  move's date over the members that move;
- ``pak_allocation_approved`` at each tariff of :data:`TARIFFS`: the share of members in which
  Pakistan mines at all (Wilson 95%) and its peak mining MW over all members.

Outcomes are the sweep outcome language (experiments/sweeps/README.md), computed by
:func:`experiments.ensemble.summary.member_outcomes`. The neighbours have no dated stance
shock in the baseline, so any first change of their stance is an endogenous move. ``--story``
adds one seed-0 run at the scenario's households: one draw, for the narrative (the dates of
its events), not a headline.

The ensembles are kept under ``--out`` (one folder per ensemble, named by its scenario, tariff,
parameters, members and households), so a rerun resumes them and only summarises.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.tables import wilson
from experiments.ensemble import EnsembleOptions, run_ensemble
from experiments.ensemble.members import PARAMETERS, SWEEP, spec_table
from experiments.ensemble.summary import member_outcomes
from experiments.outdir import target
from experiments.sweep.errors import SpecError
from experiments.sweep.outcomes import Context, parse_outcome, year_to_date
from experiments.sweep.results import open_folder
from experiments.sweep.runner import SweepAborted
from model.errors import ScenarioError
from model.model import build_model
from model.scenario import parse_overrides

SCENARIO = "south_asia_2025"
APPROVED = "pak_allocation_approved"  # the baseline with Pakistan's 2,000 MW allocation in force
TARIFF = "shocks.pak_allocation.tariff_usd_per_kwh"
TARIFFS = (0.08, 0.06, 0.05)
NEIGHBOURS = ("BGD", "LKA", "AFG", "NPL", "IND")
HALVING = dt.date(2028, 4, 15)
DIP_WEEKS = 8  # issue 14's window for a halving's dip (docs/VALIDATION.md, section 1c)
YEAR_END = dt.date(2025, 12, 31)
#: What the ensembles keep: every week (the halving dip and the dates), only what the headlines read.
OUTPUT = {"metrics": ["hashrate_ehs", "hashprice_usd_per_ph_day", "btc_price_usd", "value_received_usd",
                      "exchange_volume_usd", "p2p_volume_usd", "trading_volume_usd", "adoption_rate",
                      "remittance_crypto_share", "stance", "mining_power_mw"],
          "countries": ["PAK", *NEIGHBOURS, "WORLD"], "every": 1}
EXIT_USAGE = 2


@dataclass(frozen=True)
class Headline:
    """One outcome and how to print it: ``number`` formats the scaled value, ``unit`` follows the
    interval; ``needs`` is the latest date it reads (an ensemble that stops earlier leaves it out)."""

    name: str
    expr: str
    label: str
    number: str = "{:,.0f}"
    unit: str = ""
    scale: float = 1.0
    needs: dt.date | None = None


def _in_2025(metric: str, label: str) -> Headline:
    return Headline(f"pak_{metric}_2025", f"sum({metric}@PAK, from=2025-01-01, to={YEAR_END})",
                    f"Pakistan's {label} in 2025", "{:,.2f}", " $bn", 1e-9, YEAR_END)


DIP_END = HALVING + dt.timedelta(weeks=DIP_WEEKS)
BASELINE = (
    Headline("hashrate_2025", f"last(hashrate_ehs@WORLD, to={YEAR_END})", "network hashrate at the end of 2025",
             unit=" EH/s", needs=YEAR_END),
    Headline("hashrate_end", "last(hashrate_ehs@WORLD)", "network hashrate at the end", unit=" EH/s"),
    Headline("hashprice_2025", f"last(hashprice_usd_per_ph_day@WORLD, to={YEAR_END})",
             "hashprice at the end of 2025", "{:,.1f}", " $/PH/day", needs=YEAR_END),
    Headline("btc_price_end", "last(btc_price_usd@WORLD)", "BTC price at the end", unit=" $k", scale=1e-3),
    _in_2025("value_received_usd", "value received on chain"),
    _in_2025("exchange_volume_usd", "exchange volume"),
    _in_2025("p2p_volume_usd", "P2P volume"),
    _in_2025("trading_volume_usd", "trading volume"),
    Headline("pak_adoption_end", "last(adoption_rate@PAK)", "Pakistan's adoption at the end", "{:.1%}"),
    Headline("pak_remittance_share_end", "last(remittance_crypto_share@PAK)",
             "crypto share of Pakistan's remittance inflows at the end", "{:.1%}"),
    Headline("halving_dip", f"min(hashrate_ehs@WORLD, from={HALVING}, to={DIP_END}, relative_to={HALVING})",
             f"2028 halving: network hashrate's lowest within {DIP_WEEKS} weeks over its level just before",
             "{:.2f}", needs=DIP_END),
)
#: Dates: the median and 90% interval over the members where it happens (the rest are censored).
PAK_DATES = (
    Headline("pak_stance_change", "first_change(stance@PAK)", "Pakistan's first stance change"),
    Headline("pak_first_exchange", "first_time(exchange_volume_usd@PAK > 0)",
             "Pakistan's first licensed exchange trading"),
)
MOVES = tuple(Headline(f"{c.lower()}_first_move", f"first_change(stance@{c})", f"{c} moves") for c in NEIGHBOURS)
PEAK = Headline("pak_peak_mw", "max(mining_power_mw@PAK)", "Pakistan's peak mining", unit=" MW")


@dataclass(frozen=True)
class Ensemble:
    """A finished ensemble: its members' outcomes (the members that ran; ``size`` of them) and what it was."""

    members: pd.DataFrame
    size: int
    parameters: str
    until: dt.date

    def tag(self) -> str:
        return f"{self.size} members, parameters {self.parameters}"


def folder_name(opts: EnsembleOptions) -> str:
    tariff = opts.overrides.get(TARIFF)
    return (f"{opts.scenario}" + (f"_tariff{tariff}" if tariff is not None else "")
            + f"_{opts.parameters}_{opts.members}_h{opts.households}" + (f"_to{opts.until}" if opts.until else ""))


def run(opts: EnsembleOptions, out: Path, headlines: tuple[Headline, ...]) -> Ensemble:
    """Run (or resume) the ensemble in ``out``; each member's outcomes among ``headlines`` (those
    whose dates the run reaches)."""
    _, report = run_ensemble(opts, out)
    if report.failed:
        print(f"warning: {report.failed} members failed (see {out / SWEEP}/failed/); left out", file=sys.stderr)
    _, manifest = open_folder(out / SWEEP)
    context = Context.from_manifest(manifest)
    outcomes = {h.name: parse_outcome(h.name, h.expr, context)
                for h in headlines if h.needs is None or h.needs <= context.until}
    members = member_outcomes(out / SWEEP, outcomes)
    return Ensemble(members, len(members), opts.parameters, context.until)


def interval(values) -> tuple[float, float, float]:
    """Median and the 90% interval (5% and 95% quantiles, numpy's linear interpolation)."""
    q05, q50, q95 = np.quantile(np.asarray(values, dtype=float), [0.05, 0.5, 0.95])
    return float(q50), float(q05), float(q95)


def share(k: int, n: int) -> tuple[float, float, float]:
    """A share k/n with its Wilson 95% interval."""
    low, high = wilson(k, n, 0.95)
    return k / n, low, high


def _value_line(h: Headline, ens: Ensemble) -> str:
    if h.name not in ens.members:
        return f"{h.label}: not reached (the run ends {ens.until})"
    v = ens.members[h.name].dropna().to_numpy() * h.scale
    if not len(v):
        return f"{h.label}: no member has a value ({ens.tag()})"
    m, lo, hi = interval(v)
    f = h.number.format
    return f"{h.label}: {f(m)} [{f(lo)}, {f(hi)}]{h.unit} (median [90% interval]; {len(v)} of {ens.tag()})"


def _month(y: float) -> str:
    return year_to_date(y).strftime("%Y-%m")


def _date_line(h: Headline, ens: Ensemble) -> str:
    done = ens.members[~ens.members[f"{h.name}_censored"].astype(bool)][h.name]
    if not len(done):
        return f"{h.label}: in none of {ens.tag()} by {ens.until}"
    m, lo, hi = interval(done)
    return (f"{h.label}: {_month(m)} [{_month(lo)}, {_month(hi)}] (median [90% interval] over the "
            f"{len(done)} members where it happens by {ens.until}; {ens.tag()})")


def _move_line(h: Headline, ens: Ensemble) -> str:
    moved = ~ens.members[f"{h.name}_censored"].astype(bool)
    p, lo, hi = share(int(moved.sum()), len(moved))
    text = (f"{h.label} by {ens.until}: {p:.0%} [{lo:.0%}, {hi:.0%}] (share of members with a first stance "
            f"change, Wilson 95%; {ens.tag()})")
    if moved.any():
        m, q05, q95 = interval(ens.members.loc[moved, h.name])
        text += f"; first move {_month(m)} [{_month(q05)}, {_month(q95)}] (median [90% interval] of those)"
    return text


def baseline_lines(ens: Ensemble) -> list[str]:
    return ([_value_line(h, ens) for h in BASELINE] + [_date_line(h, ens) for h in PAK_DATES]
            + [_move_line(h, ens) for h in MOVES])


def tariff_line(tariff: float, ens: Ensemble) -> str:
    peak = ens.members[PEAK.name].dropna().to_numpy()
    p, lo, hi = share(int((peak > 0).sum()), len(peak))
    m, q05, q95 = interval(peak)
    return (f"{APPROVED}, ${tariff}/kWh: Pakistan mines in {p:.0%} [{lo:.0%}, {hi:.0%}] of members (Wilson 95%); "
            f"peak {m:,.0f} [{q05:,.0f}, {q95:,.0f}] MW (median [90% interval] over all members; {ens.tag()})")


def story(seed: int = 0) -> list[str]:
    """One run (``crypto-abm run south_asia_2025 --seed 0``, the scenario's households): its Pakistan
    events and its halving dip. One draw: the dashboard's view of one story, not a headline."""
    m = build_model(SCENARIO, seed=seed).run()
    ts, ev = m.timeseries(), m.events_frame()

    def series(metric: str) -> pd.Series:
        rows = ts[(ts.metric == metric) & (ts.country == "WORLD")]
        return pd.Series(rows.value.to_numpy(), index=pd.to_datetime(rows.date))

    out = [f"one story: crypto-abm run {SCENARIO} --seed {seed} (one draw, not a headline):"]
    pak = ev[(ev.country == "PAK") & ev.kind.isin(["stance", "exchange_entry"])]
    out += [f"  PAK {r['date']} {r['kind']}: {r['from']} -> {r['to']} ({r['cause'][:60]})"
            for r in pak.to_dict("records")]
    net, price = series("hashrate_ehs"), series("btc_price_usd")
    if net.index[-1] >= pd.Timestamp(DIP_END):
        before = net[: pd.Timestamp(HALVING)]
        window = net[pd.Timestamp(HALVING): pd.Timestamp(DIP_END)]
        out.append(f"  2028 halving: {before.iloc[-1]:,.0f} -> {window.min():,.0f} EH/s within {DIP_WEEKS} weeks "
                   f"(price ${price[before.index[-1]] / 1e3:,.0f}k -> ${price[window.idxmin()] / 1e3:,.0f}k)")
    return out


def options(args: argparse.Namespace) -> list[tuple[str, EnsembleOptions]]:
    """The ensembles, checked before any runs (a bad value is refused before the first member)."""
    fixed = parse_overrides(args.overrides, "--set")
    common = dict(parameters=args.parameters, seed=args.seed, households=args.households, until=args.until,
                  workers=args.workers, progress=not args.quiet, output=OUTPUT)
    out = [("baseline", EnsembleOptions(SCENARIO, members=args.members, overrides=fixed, **common))]
    if not args.no_tariffs:
        out += [(f"{t}", EnsembleOptions(APPROVED, members=args.tariff_members, overrides={**fixed, TARIFF: t},
                                            **common))
                for t in TARIFFS]
    for key, opts in out:
        try:
            spec_table(opts)
        except SpecError as err:  # name the option of this script that gave the value
            option = "--members" if key == "baseline" else "--tariff-members"
            raise SpecError(err.file, [(option if f == "--members" else f, m, v) for f, m, v in err.problems]) from None
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments.validation.headlines",
                                description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=200, help="members of the baseline ensemble (default 200)")
    p.add_argument("--tariff-members", type=int, default=100,
                   help=f"members of each {APPROVED} ensemble, one per tariff (default 100)")
    p.add_argument("--parameters", choices=PARAMETERS, default="all", help="as crypto-abm ensemble (default all)")
    p.add_argument("--households", type=int, default=5_000, help="household agents per member (default 5,000)")
    p.add_argument("--until", type=dt.date.fromisoformat, help="stop at this date (default: the scenario's end)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a scenario parameter in every ensemble (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="root seed of every ensemble (default 0)")
    p.add_argument("--workers", type=int, help="runs at once (default: the CPU cores)")
    p.add_argument("--out", type=Path, default=Path("runs") / "headlines",
                   help="folder of the ensembles' folders (default runs/headlines); a rerun resumes them")
    p.add_argument("--no-tariffs", action="store_true", help=f"the baseline only, not the {APPROVED} ensembles")
    p.add_argument("--story", action="store_true", help="add one seed-0 run at the scenario's households")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def headline_lines(args: argparse.Namespace) -> list[str]:
    """Run (or resume) the ensembles ``args`` asks for; the lines to print."""
    ensembles = options(args)
    root = target(args.out)
    lines = []
    for key, opts in ensembles:
        print(f"running {folder_name(opts)} ...", file=sys.stderr)
        if key == "baseline":
            ens = run(opts, root / folder_name(opts), BASELINE + PAK_DATES + MOVES)
            lines += [f"{SCENARIO}, {args.households:,} households, root seed {args.seed}:"] + baseline_lines(ens)
        else:
            lines.append(tariff_line(opts.overrides[TARIFF], run(opts, root / folder_name(opts), (PEAK,))))
    if args.story:
        lines += story()
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        lines = headline_lines(args)
    except ScenarioError as err:  # a bad option or output folder: one line, status 2
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except SweepAborted as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
