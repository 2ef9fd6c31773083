"""Runs kept side by side: a session's runs saved as tables on disk, to overlay on the live one.

"Keep this run" saves the live run's recorded arrays up to its week (not the model) under
the browser session's id, so a page reload finds them again. At most :data:`MAX_RUNS` per
session (the oldest goes first); a session's folder is deleted once it has been unused for
:data:`MAX_AGE_S` (checked whenever a run is kept or a page opens). The folder is
``$TMPDIR/crypto-abm-dashboard/<session id>/``; each run is one ``.npz`` with its label,
written atomically, so a crash never leaves half a run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from viz.data import RunArrays

MAX_RUNS = 8
MAX_AGE_S = 24 * 3600
ROOT_NAME = "crypto-abm-dashboard"


def root() -> Path:
    return Path(tempfile.gettempdir()) / ROOT_NAME


@dataclass(frozen=True)
class KeptRun:
    name: str      # file stem: kept order
    label: str     # what differs: scenario, seed, households, settings
    arrays: RunArrays


class KeptRuns:
    """One browser session's kept runs."""

    def __init__(self, session_id: str, base: Path | None = None):
        safe = re.sub(r"[^A-Za-z0-9_-]", "", session_id)[:64] or "anonymous"
        self.base = base or root()
        self.folder = self.base / safe

    def keep(self, label: str, arrays: RunArrays) -> str:
        """Save a run (its arrays up to its week); drop the oldest beyond MAX_RUNS. Returns its name."""
        forget_old(self.base)
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"run-{time.time_ns()}"
        t = arrays.t
        meta = {"label": label, "dates": [d.isoformat() for d in arrays.dates], "codes": arrays.codes,
                "markets": arrays.markets, "exchanges": arrays.exchanges, "t": t}
        tmp = self.folder / f".{name}.tmp.npz"
        np.savez_compressed(tmp, values=arrays.values[: t + 1], volumes=arrays.volumes[: t + 1],
                            meta=np.array(json.dumps(meta)))
        os.replace(tmp, self.folder / f"{name}.npz")
        for old in self.names()[:-MAX_RUNS]:
            (self.folder / f"{old}.npz").unlink(missing_ok=True)
        os.utime(self.folder)
        return name

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("run-*.npz"))

    def load(self) -> list[KeptRun]:
        """Every kept run, oldest first (a file that cannot be read is skipped, not fatal)."""
        out = []
        for name in self.names():
            try:
                with np.load(self.folder / f"{name}.npz") as f:
                    meta = json.loads(str(f["meta"]))
                    arrays = RunArrays([dt.date.fromisoformat(d) for d in meta["dates"]], meta["codes"],
                                       meta["markets"], meta["exchanges"], f["values"], f["volumes"], meta["t"])
            except (OSError, ValueError, KeyError):
                continue
            out.append(KeptRun(name, meta["label"], arrays))
        return out

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def forget_old(base: Path, max_age_s: float = MAX_AGE_S) -> None:
    """Delete the session folders not used for ``max_age_s``."""
    if not base.is_dir():
        return
    now = time.time()
    for folder in base.iterdir():
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > max_age_s:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
