"""PNG figures of a run, drawn from the tidy table (dates on the x-axis)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from model.config import STANCE_NAMES  # noqa: E402


def _wide(ts: pd.DataFrame, metric: str) -> pd.DataFrame:
    part = ts[(ts.metric == metric) & (ts.country != "WORLD")]
    wide = part.pivot_table(index="date", columns="country", values="value", observed=True)
    return wide.loc[:, wide.abs().max() > 0] if len(wide.columns) else wide


def write_figures(ts: pd.DataFrame, out: Path) -> list[Path]:
    paths = []

    hr = _wide(ts, "hashrate_ehs")
    order = hr.mean().sort_values(ascending=False).index
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.stackplot(hr.index, *(hr[c] for c in order), labels=list(order))
    world = ts[(ts.metric == "hashrate_ehs") & (ts.country == "WORLD")]
    ax.plot(world.date, world.value, color="black", lw=1, label="network")
    ax.set(title="Hashrate by country", ylabel="EH/s")
    ax.legend(ncol=4, fontsize=8, loc="upper left")
    paths.append(_save(fig, out / "hashrate_by_country.png"))

    vol = _wide(ts, "trading_volume_usd")
    ad = _wide(ts, "adoption_rate")
    if vol.empty:  # a scenario without households: mining only
        return paths
    fig, ax = plt.subplots(figsize=(10, 5))
    for c in vol.columns:
        ax.plot(vol.index, vol[c], label=c)
    ax.set(title="Trading volume by country (per week)", ylabel="USD per week", yscale="log")
    ax.legend(ncol=5, fontsize=8)
    paths.append(_save(fig, out / "volume_by_country.png"))

    fig, ax = plt.subplots(figsize=(10, 5))
    for c in ad.columns:
        ax.plot(ad.index, ad[c] * 100, label=c)
    ax.set(title="Adoption by country", ylabel="% of population holding crypto")
    ax.legend(ncol=5, fontsize=8)
    paths.append(_save(fig, out / "adoption.png"))

    st = ts[(ts.metric == "stance") & (ts.country != "WORLD")].pivot_table(
        index="date", columns="country", values="value", observed=True)
    moved = [c for c in st.columns if st[c].nunique() > 1]
    # Countries with households (the region) plus any other country whose stance moved.
    st = st[[c for c in st.columns if c in ad.columns or c in moved]]
    fig, ax = plt.subplots(figsize=(10, 5))
    for i, c in enumerate(st.columns):
        ax.step(st.index, st[c] + (i - len(st.columns) / 2) * 0.02, where="post", label=c,
                lw=2.0 if c in moved else 0.8)
    ax.set_yticks(range(len(STANCE_NAMES)), STANCE_NAMES)
    ax.set(title="Regulatory stance by country")
    ax.legend(ncol=6, fontsize=8)
    paths.append(_save(fig, out / "stance_timeline.png"))
    return paths


def _save(fig, path: Path) -> Path:
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
