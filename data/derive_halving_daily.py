"""How ``data/hashrate_halving_daily.csv`` was made (run once, 2026-12-05; nothing runs it at run time).

The daily values behind ``halving_dips.csv``: Bitcoin Visuals' daily estimates of the network
hashrate (a day's value is the difficulty x the blocks found that UTC day x 2^32 / 86400), as
saved in GitHub Krisp140/TargetedNakomoto ``data/hashrate.csv`` (commit ea02692; H/s, one row a
day), the series ``hashrate_halving_windows.csv`` already uses. Kept: the days that file's dips
read, from 14 days before each halving day to 56 days after it; none falls in the held-out
months (2021-05..2022-01).

Usage: ``python data/derive_halving_daily.py HASHRATE_CSV > data/hashrate_halving_daily.csv``
with the repository's file at the cited commit (``git show ea02692:data/hashrate.csv``).
"""

from __future__ import annotations

import sys

import pandas as pd

HALVINGS = ("2016-07-09", "2020-05-11", "2024-04-20")
BEFORE, AFTER = 14, 56  # the days halving_dips.csv reads
SOURCE = ("Bitcoin Visuals chain-hash-rate daily estimate (H/s) as saved in GitHub Krisp140/TargetedNakomoto "
          "data/hashrate.csv (commit ea02692)")


def main(path: str) -> None:
    raw = pd.read_csv(path, encoding="utf-8-sig")
    series = pd.Series(raw["Hash Rate"].to_numpy(float), index=pd.to_datetime(raw["DateTime"]).dt.normalize())
    rows = []
    for halving in HALVINGS:
        day = pd.Timestamp(halving)
        days = pd.date_range(day - pd.Timedelta(days=BEFORE), day + pd.Timedelta(days=AFTER), freq="D")
        window = series.reindex(days)
        if window.isna().any():
            raise SystemExit(f"{path}: days missing around {halving}: {list(window[window.isna()].index.date)}")
        for d, value in window.items():
            rows.append({"date": d.date().isoformat(), "hashrate_ehs": round(value / 1e18, 6), "halving": halving,
                         "day": (d - day).days, "source": SOURCE})
    pd.DataFrame(rows).to_csv(sys.stdout, index=False)


if __name__ == "__main__":
    main(sys.argv[1])
