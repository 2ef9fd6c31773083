"""How ``data/hashrate_2025_daily.csv`` was made (run once, 2026-12-05; nothing runs it at run time).

Two public daily series of network hashrate, one definition (Bitcoin Visuals'): a day's value
is the difficulty x the blocks found that UTC day x 2^32 / 86400.

* 2025-01-01..2025-03-07: Bitcoin Visuals' daily estimates as saved in GitHub
  Krisp140/TargetedNakomoto ``data/hashrate.csv`` (commit ea02692; the file ends 2025-03-08, a
  day left out as possibly partial), the series ``hashrate_halving_windows.csv`` already uses.
* 2025-08..2025-12: computed here from the blocks themselves, GitHub m-marqx/BTC-RPC-Data
  (Bitcoin Core ``getblockstats`` parquet dumps, commit 34548a5, the dumps ``fees.csv`` uses;
  blocks 909,458-934,575 are in the mirror, the dumps of early 2025 are not). Those dumps hold
  each block's header time and hash but not its difficulty, so each retarget epoch's difficulty
  is estimated from its hashes: a valid block's hash is uniform below the target, so the largest
  of an epoch's 2,016 hashes x 2017/2016 estimates the target (relative error ~1/2016), and the
  difficulty is the maximum target 0xFFFF x 2^208 over it. Only whole epochs, and only whole UTC
  days (a run of consecutive blocks' first and last days are dropped).

Checks (printed): the epochs' difficulty ratios against the retarget rule applied to the header
times (2016 x 600 s over the epoch's span) agree within 0.2%; on the 53 days of 2023 where the
dumps and Bitcoin Visuals overlap (2023-02-26..2023-04-19) the computed daily values are
0.9995-1.0074 times Bitcoin Visuals' (median 1.00006).

Usage: ``python data/derive_hashrate_2025.py DUMPS_FOLDER BITCOIN_VISUALS_CSV > data/hashrate_2025_daily.csv``
with the two repositories' files at the cited commits (``git show``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

MAX_TARGET = 0xFFFF * 2 ** 208
EPOCH = 2016
MODERN = 700_000  # the retarget check's first height (early epochs sat at the minimum difficulty)
BV = ("Bitcoin Visuals chain-hash-rate daily estimate as saved in GitHub Krisp140/TargetedNakomoto "
      "data/hashrate.csv (commit ea02692)")
BLOCKS = ("DERIVED from block header times and hashes, GitHub m-marqx/BTC-RPC-Data getblockstats dumps "
          "(commit 34548a5): difficulty of each retarget epoch from its largest hash x 2017/2016; "
          "difficulty x blocks that UTC day x 2^32 / 86400")


def blocks(folder: Path) -> pd.DataFrame:
    """height, time (Unix seconds), hash (int) of every block in the dumps."""
    parts = [pd.read_parquet(f, columns=["height", "time", "blockhash"]) for f in sorted(folder.rglob("*.parquet"))
             if f.stat().st_size]
    d = pd.concat(parts).drop_duplicates("height").sort_values("height").reset_index(drop=True)
    d["time"] = d.time.map(lambda v: int(v.timestamp()) if isinstance(v, pd.Timestamp) else int(v))
    d["hash"] = d.blockhash.map(lambda s: int(s, 16))
    return d


def epoch_difficulty(d: pd.DataFrame) -> pd.Series:
    """Each whole epoch's difficulty, from its largest hash."""
    ep = d.groupby(d.height // EPOCH).hash.agg(["size", "max"])
    ep = ep[ep["size"] == EPOCH]
    return MAX_TARGET / (ep["max"].map(float) * (EPOCH + 1) / EPOCH)


def retarget_check(d: pd.DataFrame, diff: pd.Series) -> float:
    """The largest relative gap between consecutive epochs' difficulty ratio and the retarget rule's."""
    t = d.set_index("height").time
    gaps = []
    for k in diff.index[diff.index * EPOCH >= MODERN]:
        first, last = (k - 1) * EPOCH, (k - 1) * EPOCH + EPOCH - 1
        if k - 1 in diff.index and first in t.index and last in t.index:
            rule = EPOCH * 600 / min(max(t[last] - t[first], EPOCH * 150), EPOCH * 2400)
            gaps.append(abs(diff[k] / diff[k - 1] / rule - 1))
    return max(gaps)


def daily(d: pd.DataFrame, diff: pd.Series) -> pd.Series:
    """EH/s by UTC day, whole days of whole epochs only."""
    d = d[(d.height // EPOCH).isin(diff.index)].copy()
    d["run"] = (d.height.diff() != 1).cumsum()
    d["day"] = pd.to_datetime(d.time, unit="s").dt.normalize()
    d["ehs"] = (d.height // EPOCH).map(diff) * 2 ** 32 / 86400 / 1e18
    return pd.concat([run.groupby("day").ehs.sum().iloc[1:-1] for _, run in d.groupby("run")]).sort_index()


def main(folder: str, bv_csv: str) -> None:
    d = blocks(Path(folder))
    diff = epoch_difficulty(d)
    computed = daily(d, diff)
    bv = pd.read_csv(bv_csv, parse_dates=["DateTime"]).set_index("DateTime")["Hash Rate"] / 1e18
    overlap = pd.concat([computed.rename("c"), bv.rename("bv")], axis=1, sort=True).dropna()
    overlap = overlap[overlap.index >= "2023-01-01"]
    ratio = overlap.c / overlap.bv
    print(f"retarget rule: largest gap {retarget_check(d, diff):.4f}; overlap with Bitcoin Visuals: "
          f"{len(overlap)} days {overlap.index.min():%Y-%m-%d}..{overlap.index.max():%Y-%m-%d}, "
          f"ratio {ratio.min():.4f}-{ratio.max():.4f} "
          f"(median {ratio.median():.5f})", file=sys.stderr)
    rows = [(day, v, BV) for day, v in bv[(bv.index >= "2025-01-01") & (bv.index < bv.index.max())].items()]
    rows += [(day, v, BLOCKS) for day, v in computed[(computed.index >= "2025-01-01")
                                                     & (computed.index < "2026-01-01")].items()]
    out = pd.DataFrame(rows, columns=["date", "hashrate_ehs", "source"])
    out["date"] = out.date.dt.strftime("%Y-%m-%d")
    out["hashrate_ehs"] = out.hashrate_ehs.round(3)
    out.to_csv(sys.stdout, index=False)


if __name__ == "__main__":
    main(*sys.argv[1:3])
