"""Read what the charts need from a model, cheaply, without building DataFrames each step.

The model's recorder keeps every metric in one preallocated array ``[step, code, metric]``
(codes are the scenario's countries then ``WORLD``); :class:`RunArrays` holds a view of
it for a live model, or a copy of it for a finished counterfactual run. If a future model
drops the recorder, the arrays are rebuilt from the public ``timeseries()`` /
``exchange_volumes()`` tables instead (slower, same numbers).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from model.config import STANCE_NAMES
from model.recorder import METRICS

EPOCH = np.datetime64("1970-01-01", "D")


def day_numbers(dates) -> np.ndarray:
    """Dates as float days since 1970 (the charts' x axis; ticks are labelled as dates)."""
    return (np.asarray(dates, dtype="datetime64[D]") - EPOCH).astype(float)


@dataclass
class RunArrays:
    """One run's recorded metrics and exchange volumes up to ``t`` (inclusive)."""

    dates: list[dt.date]
    codes: list[str]            # countries, then WORLD
    markets: list[str]          # countries with households
    exchanges: list[str]        # exchange names, then P2P
    values: np.ndarray          # [step, code, metric]
    volumes: np.ndarray         # [step, market, exchange]
    t: int

    @classmethod
    def of(cls, model, copy: bool = False) -> "RunArrays":
        """The run's recorded arrays (the recorder's public state; ``copy`` detaches them)."""
        rec = model.recorder
        values, volumes = rec.values, rec.volumes
        if copy:
            values, volumes = values[: model.t + 1].copy(), volumes[: model.t + 1].copy()
        return cls(list(model.dates), list(rec.codes), list(rec.markets), list(rec.exchanges),
                   values, volumes, model.t)

    # ------------------------------------------------------------ access
    def metric(self, name: str, upto: int | None = None) -> np.ndarray:
        """``[step, code]`` for steps 0..upto (default: this run's t)."""
        end = (self.t if upto is None else min(upto, self.t)) + 1
        return self.values[:end, :, METRICS.index(name)]

    def col(self, code: str) -> int:
        return self.codes.index(code)

    def country_volumes(self, code: str, upto: int | None = None) -> np.ndarray:
        """``[step, exchange]`` trading volume of one market (zeros if it has no households)."""
        end = (self.t if upto is None else min(upto, self.t)) + 1
        if code not in self.markets:
            return np.zeros((end, len(self.exchanges)))
        return self.volumes[:end, self.markets.index(code), :]


@dataclass(frozen=True)
class CounterfactualRun:
    """A finished counterfactual: which settings, which shocks were off, and its arrays."""

    key: tuple
    shocks_off: tuple[str, ...]
    arrays: RunArrays
    seconds: float


# ------------------------------------------------------------------ the focus country
EFFICIENCY_BANDS = (0.0, 12.0, 14.0, 17.0, 20.0, 25.0, 30.0, np.inf)


def band_labels() -> list[str]:
    out = []
    for lo, hi in zip(EFFICIENCY_BANDS[:-1], EFFICIENCY_BANDS[1:]):
        out.append(f"<{hi:g}" if lo == 0 else (f">={lo:g}" if hi == np.inf else f"{lo:g}-{hi:g}"))
    return out


@dataclass(frozen=True)
class FleetBands:
    """A miner fleet by machine efficiency band (J/TH), in EH/s."""

    labels: tuple[str, ...]
    running: np.ndarray      # legal machines switched on
    underground: np.ndarray  # illegal machines switched on
    idle: np.ndarray         # installed but switched off
    pipeline_ehs: float      # ordered or relocating, not yet arrived


def fleet_bands(fleet) -> FleetBands:
    eff = np.asarray(fleet.eff, dtype=float)
    on = np.asarray(fleet.running, dtype=float)
    legal = np.asarray(fleet.legal_ths, dtype=float)
    ug = np.asarray(fleet.underground_ths, dtype=float)
    idx = np.clip(np.searchsorted(EFFICIENCY_BANDS, eff, side="right") - 1, 0, len(EFFICIENCY_BANDS) - 2)
    n = len(EFFICIENCY_BANDS) - 1
    # Legal machines actually running are capped by the MW allowance: scale to operating.
    legal_on = on * legal
    ug_on = on * ug
    want = legal_on.sum()
    actual_legal = max(float(fleet.operating_ths) - float(fleet.underground_operating_ths), 0.0)
    if want > 0:
        legal_on = legal_on * min(1.0, actual_legal / want)
    running = np.bincount(idx, legal_on, n) / 1e6
    underground = np.bincount(idx, ug_on, n) / 1e6
    installed = np.bincount(idx, legal + ug, n) / 1e6
    idle = np.maximum(installed - running - underground, 0.0)
    pipeline = sum(p[1] for p in getattr(fleet, "pipeline", [])) / 1e6
    return FleetBands(tuple(band_labels()), running, underground, idle, float(pipeline))


def stance_label(level) -> str:
    level = int(round(float(level)))
    return f"{level} {STANCE_NAMES[level].replace('_', ' ')}"


def exchanges_present(model, code: str) -> list[str]:
    return sorted(name for name, ex in model.exchanges.items() if code in ex.present)


def exchanges_pending(model, code: str) -> list[str]:
    return sorted(name for name, ex in model.exchanges.items() if code in getattr(ex, "pending", {}))
