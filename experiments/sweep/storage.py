"""The sweep folder: what is on disk, and the rules that make a sweep resumable.

::

    DIR/manifest.json          canonical spec + SHA-256, seeds, design kind, SALib problem,
                               versions, git commit; one entry per session (start, resume)
    DIR/design.parquet         the design table (one row per run)
    DIR/sample.npy             problem-space sample matrix (sampled designs; for SALib)
    DIR/runs/run_<id>.parquet  one file per finished run: kept rows + parameters + seed
    DIR/failed/run_<id>.json   parameters and error (traceback) of a run that raised

Rules:

- Every file is written to a temporary name in the same folder and renamed into place
  (``os.replace``), so a reader sees a whole file or none. Temporary names start with a
  dot and end in ``.tmp-<pid>-<n>``, never in ``.parquet``/``.json``, so a glob such as
  ``runs/*.parquet`` (DuckDB's) never reads a half-written file; leftovers of a killed
  sweep are removed on the next start.
- A run is done if and only if its Parquet file exists; a rerun skips it and never
  repeats it. A failure record is removed once its run succeeds, and failed runs are
  retried on every rerun.
- The manifest is written before any run starts. Resuming compares the spec's SHA-256
  with the manifest's and refuses a different spec (exit 2), because mixing two specs'
  runs in one folder would silently corrupt every summary.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.sweep.design import Design
from experiments.sweep.errors import SpecError

MANIFEST = "manifest.json"
DESIGN = "design.parquet"
SAMPLE = "sample.npy"
RUNS = "runs"
FAILED = "failed"
_counter = itertools.count()


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{next(_counter)}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=_json_default) + "\n").encode())


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class SweepFolder:
    """One sweep's output folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.runs = self.root / RUNS
        self.failed = self.root / FAILED
        self.manifest_path = self.root / MANIFEST
        self.design_path = self.root / DESIGN

    # ------------------------------------------------------------------ state
    def run_path(self, run_id: str) -> Path:
        return self.runs / f"run_{run_id}.parquet"

    def failure_path(self, run_id: str) -> Path:
        return self.failed / f"run_{run_id}.json"

    def done_ids(self) -> set[str]:
        return {p.name[4:-8] for p in self.runs.glob("run_*.parquet")} if self.runs.is_dir() else set()

    def failed_ids(self) -> set[str]:
        return {p.name[4:-5] for p in self.failed.glob("run_*.json")} if self.failed.is_dir() else set()

    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.is_file():
            return None
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise SpecError.one(str(self.manifest_path), "", f"unreadable sweep manifest: {err}") from None

    def read_failures(self) -> list[dict[str, Any]]:
        out = []
        done = self.done_ids()
        for path in sorted(self.failed.glob("run_*.json")) if self.failed.is_dir() else []:
            if path.name[4:-5] in done:
                continue
            try:
                out.append(json.loads(path.read_text()))
            except (OSError, json.JSONDecodeError):
                out.append({"run_id": path.name[4:-5], "error": "unreadable failure record"})
        return out

    # ------------------------------------------------------------------ start / resume
    def open(self, manifest: dict[str, Any], design: Design, spec_file: str) -> bool:
        """Create the folder for a new sweep, or check it belongs to this spec.

        Returns True when resuming. Raises :class:`SpecError` for a folder made by a
        different spec, a design that no longer matches, or a folder that is not a sweep's.
        """
        old = self.read_manifest()
        if old is None:
            if self.root.exists() and any(self.root.iterdir()):
                raise SpecError.one(str(self.root), "--out", "exists, is not empty and has no manifest.json: "
                                    "not a sweep folder; choose another --out")
            self.root.mkdir(parents=True, exist_ok=True)
            self.runs.mkdir(exist_ok=True)
            self.failed.mkdir(exist_ok=True)
            manifest = dict(manifest)
            manifest["sessions"] = [manifest.pop("session")]
            atomic_write_json(self.manifest_path, manifest)  # first: its presence marks a sweep folder
            self._write_design(design)  # (a resume writes it if a kill came in between)
            return False

        if old.get("spec_sha256") != manifest["spec_sha256"]:
            raise SpecError.one(
                str(self.manifest_path), "spec_sha256",
                f"this folder was made by a different spec ({old.get('spec_file', '?')}, sha256 "
                f"{str(old.get('spec_sha256'))[:12]}...); {spec_file} has sha256 {manifest['spec_sha256'][:12]}...: "
                "use another --out, or delete the folder to start over")
        self.runs.mkdir(exist_ok=True)
        self.failed.mkdir(exist_ok=True)
        if not self.design_path.is_file():
            self._write_design(design)
        else:
            stored = pd.read_parquet(self.design_path)
            if not _same_design(stored, design.table):
                raise SpecError.one(str(self.design_path), "design",
                                    "differs from the design this spec gives now (a sampler changed with a "
                                    "package upgrade?); resume with the original environment or use another --out")
        old.setdefault("sessions", []).append(manifest["session"])
        old["analysis"] = manifest.get("analysis")  # not part of the hash: the latest [analysis] table wins
        atomic_write_json(self.manifest_path, old)
        return True

    def _write_design(self, design: Design) -> None:
        import io
        buf = io.BytesIO()
        design.table.to_parquet(buf, index=False)
        atomic_write_bytes(self.design_path, buf.getvalue())
        if design.sample is not None:
            buf = io.BytesIO()
            np.save(buf, design.sample)
            atomic_write_bytes(self.root / SAMPLE, buf.getvalue())

    def clean_temporary(self) -> int:
        """Remove temporary files a killed sweep left behind; return how many."""
        n = 0
        for folder in (self.root, self.runs, self.failed):
            if folder.is_dir():
                for path in folder.glob(".*.tmp-*"):
                    path.unlink(missing_ok=True)
                    n += 1
        return n

    def finish_session(self, summary: dict[str, Any]) -> None:
        manifest = self.read_manifest() or {}
        sessions = manifest.setdefault("sessions", [{}])
        sessions[-1].update(summary)
        atomic_write_json(self.manifest_path, manifest)

    # ------------------------------------------------------------------ results
    def write_run(self, run_id: str, data: bytes) -> None:
        atomic_write_bytes(self.run_path(run_id), data)
        self.failure_path(run_id).unlink(missing_ok=True)

    def write_failure(self, run_id: str, record: dict[str, Any]) -> None:
        atomic_write_json(self.failure_path(run_id), record)


def _same_design(stored: pd.DataFrame, table: pd.DataFrame) -> bool:
    if list(stored.columns) != list(table.columns) or len(stored) != len(table):
        return False
    for col in table.columns:
        a, b = stored[col].to_numpy(), table[col].to_numpy()
        if a.dtype.kind == "f" and b.dtype.kind == "f":
            if not np.allclose(a, b, rtol=1e-12, atol=0.0):
                return False
        elif [str(x) for x in a] != [str(x) for x in b]:
            return False
    return True
