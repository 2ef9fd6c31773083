"""The README's headline numbers, recomputed: ``python -m experiments.validation.headlines``.

Prints the numbers of the README sections "One baseline run" (seed 0, 20,000 households)
and the many-seed statements under it (Pakistan's mining over seeds and tariffs, the
neighbours' stance moves), so that after any change of the model they are rerun by one
command rather than by hand. Endogenous moves are those logged with a diffusion cause
(not a dated shock).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pandas as pd

from model.model import build_model

SCENARIO = "south_asia_2025"
APPROVED = "pak_allocation_approved"  # the baseline with Pakistan's 2,000 MW allocation in force
NEIGHBOURS = ("BGD", "LKA", "AFG", "NPL", "IND")
HALVING = dt.date(2028, 4, 15)


def _series(ts: pd.DataFrame, metric: str, country: str) -> pd.Series:
    rows = ts[(ts.metric == metric) & (ts.country == country)]
    return pd.Series(rows.value.to_numpy(), index=pd.to_datetime(rows.date))


def baseline(seed: int = 0, households: int = 20_000) -> list[str]:
    t0 = time.perf_counter()
    m = build_model(SCENARIO, seed=seed, households=households).run()
    seconds = time.perf_counter() - t0
    ts, ev = m.timeseries(), m.events_frame()
    net = _series(ts, "hashrate_ehs", "WORLD")
    hp = _series(ts, "hashprice_usd_per_ph_day", "WORLD")
    price = _series(ts, "btc_price_usd", "WORLD")
    y2025 = slice("2025-01-01", "2025-12-31")
    out = [f"baseline seed {seed}, {households:,} households: {seconds:.1f} s",
           f"network hashrate {net.iloc[0]:,.0f} EH/s at start, {net[y2025].iloc[-1]:,.0f} at the end of 2025; "
           f"hashprice end of 2025 ${hp[y2025].iloc[-1]:.1f}/PH/day"]
    pak = ev[ev.country == "PAK"]
    for r in pak[pak.kind.isin(["stance", "exchange_entry"])].to_dict("records"):
        out.append(f"PAK {r['date']} {r['kind']}: {r['from']} -> {r['to']} ({r['cause'][:60]})")
    for metric in ("value_received_usd", "exchange_volume_usd", "p2p_volume_usd", "trading_volume_usd"):
        if metric in set(ts.metric):
            out.append(f"PAK {metric} in 2025: ${_series(ts, metric, 'PAK')[y2025].sum() / 1e9:.2f}bn")
    adopt = _series(ts, "adoption_rate", "PAK")
    share = _series(ts, "remittance_crypto_share", "PAK")
    mw = _series(ts, "mining_power_mw", "PAK")
    out += [f"PAK adoption {adopt.iloc[0]:.1%} -> {adopt.iloc[-1]:.1%}; crypto share of remittances "
            f"{share.iloc[0]:.1%} -> {share.iloc[-1]:.1%}; peak mining {mw.max():,.0f} MW"]
    before = net[: pd.Timestamp(HALVING)].iloc[-1]
    window = net[pd.Timestamp(HALVING): pd.Timestamp(HALVING) + pd.Timedelta(weeks=11)]
    p0, p1 = price[: pd.Timestamp(HALVING)].iloc[-1], price[window.idxmin()]
    out.append(f"2028 halving: {before:,.0f} -> {window.min():,.0f} EH/s within 2.5 months "
               f"(price {p0 / 1e3:,.0f}k -> {p1 / 1e3:,.0f}k)")
    return out


def neighbours(seeds: int, households: int = 1_800) -> list[str]:
    """Endogenous stance moves of Pakistan's neighbours (and India) in the baseline."""
    first: dict[str, list] = {c: [] for c in NEIGHBOURS}
    regulated = {c: 0 for c in NEIGHBOURS}
    for seed in range(seeds):
        m = build_model(SCENARIO, seed=seed, households=households).run()
        ts, ev = m.timeseries(), m.events_frame()
        moves = ev[(ev.kind == "stance") & ev.cause.str.startswith(("diffusion", "retreat"))]
        for c in NEIGHBOURS:
            mine = moves[moves.country == c]
            first[c].append(mine.date.min() if len(mine) else None)
            regulated[c] += bool(_series(ts, "stance", c).max() >= 3 and len(mine))
    out = []
    for c in NEIGHBOURS:
        dates = sorted(d for d in first[c] if d is not None)
        span = f" (first move {dates[0]} .. {dates[-1]})" if dates else ""
        out.append(f"{c} moves in {len(dates)} of {seeds} seeds ({households:,} households){span}; "
                   f"reaches regulated in {regulated[c]}")
    return out


def pakistan_mining(seeds: int, tariffs=(0.08, 0.06, 0.05), households: int = 1_800) -> list[str]:
    """Pakistan's peak mining MW with its allocation approved, by tariff, over seeds."""
    out = []
    for tariff in tariffs:
        peaks = np.array([_series(build_model(APPROVED, seed=s, households=households,
                                              overrides={"shocks.pak_allocation.tariff_usd_per_kwh": tariff})
                                  .run().timeseries(), "mining_power_mw", "PAK").max() for s in range(seeds)])
        mined = peaks[peaks > 0]
        out.append(f"{APPROVED}, ${tariff}/kWh, {seeds} seeds: Pakistan mines in {len(mined)}"
                   + (f", peaking at {mined.min():,.0f}-{mined.max():,.0f} MW" if len(mined) else ""))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args(argv)
    for line in baseline() + neighbours(args.seeds) + pakistan_mining(args.seeds):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
