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
- A run is done if and only if its Parquet file exists and is whole; a rerun skips it and
  never repeats it. "Whole" is checked from the file's footer alone (cheap: no data is
  read): the footer must parse (a truncated or empty file has none), its row groups must
  add up to its row count and lie inside the file, and that count must equal the one the
  worker recorded in the footer's key-value metadata (``crypto_abm.rows``, with
  ``crypto_abm.run_id``). A rerun deletes a broken run file of its own design and
  recomputes the run; ``results``/``analyze`` refuse a folder with a broken file (exit 2),
  naming it (:meth:`SweepFolder.broken_runs` is the one check both use). A failure record
  is removed once its run succeeds, and failed runs are retried on every rerun.
- One sweep at a time writes a folder: it holds an exclusive ``flock`` on
  ``DIR/sweep.lock`` (which records its pid, host and start) from before it reads the
  manifest until it ends, and removes the file on exit. A second sweep into the folder is
  refused (exit 2) naming the holder. The kernel drops the lock when its process dies,
  however it dies, so a lock file left by a killed sweep is simply taken over.
- The manifest is written before any run starts. Resuming compares the spec's SHA-256
  with the manifest's and refuses a different spec (exit 2), because mixing two specs'
  runs in one folder would silently corrupt every summary.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import io
import json
import os
import socket
import sys
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from experiments.outdir import MANIFEST  # a sweep folder is marked by its manifest, as a run's
from experiments.provenance import atomic_write_bytes, atomic_write_json
from experiments.sweep.design import Design
from experiments.sweep.errors import SpecError

DESIGN = "design.parquet"
SAMPLE = "sample.npy"
RUNS = "runs"
FAILED = "failed"
LOCK = "sweep.lock"
#: Footer key-value metadata of a run file (written by the worker): whose run, how many rows.
RUN_ID_KEY = b"crypto_abm.run_id"
RUN_ROWS_KEY = b"crypto_abm.rows"


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
            self._refuse_foreign()
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

    def _refuse_foreign(self) -> None:
        """Refuse a folder that exists, holds something besides a lock file and has no manifest."""
        if self.root.is_dir() and any(p.name != LOCK for p in self.root.iterdir()):
            raise SpecError.one(str(self.root), "--out", "exists, is not empty and has no manifest.json: "
                                "not a sweep folder; choose another --out")

    # ------------------------------------------------------------------ one sweep at a time
    def acquire(self) -> "FolderLock":
        """Create the folder if needed and take its lock, or raise :class:`SpecError` (exit 2)
        naming the process that holds it. Nothing is created in a folder that is not a sweep's."""
        if not self.manifest_path.is_file():
            self._refuse_foreign()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SpecError.one(str(self.root), "--out", f"cannot create the sweep folder: {err.strerror}") from None
        return FolderLock.take(self.root / LOCK)

    # ------------------------------------------------------------------ whole run files
    def broken_runs(self) -> list[tuple[Path, str]]:
        """Every file a reader's ``runs/*.parquet`` glob would read that is not whole, with why."""
        if not self.runs.is_dir():
            return []
        out = []
        for path in sorted(self.runs.glob("*.parquet")):
            run_id = path.name[4:-8] if path.name.startswith("run_") else None
            why = check_run_file(path, run_id)
            if why is not None:
                out.append((path, why))
        return out

    def refuse_broken(self, manifest: dict[str, Any] | None = None) -> None:
        """Raise :class:`SpecError` (exit 2) naming the broken run files, if there are any."""
        broken = self.broken_runs()
        if not broken:
            return
        spec = (manifest or {}).get("spec_file")
        again = f"crypto-abm sweep {spec} --out {self.root}" if spec else "the same crypto-abm sweep command"
        names = ", ".join(f"{p.name} ({why})" for p, why in broken[:10])
        more = f" and {len(broken) - 10} more" if len(broken) > 10 else ""
        raise SpecError.one(str(self.runs), "run files",
                            f"{len(broken)} broken run file(s), truncated or damaged: {names}{more}; rerunning "
                            f"the sweep ({again}) recomputes them")

    def remove_broken_runs(self, run_ids: set[str]) -> list[str]:
        """Delete the broken run files of this design (only ``runs/run_<id>.parquet`` with an id
        in ``run_ids``: files the sweep wrote), so they are run again; return their ids.
        A broken file the design does not name is left alone, with a warning."""
        removed = []
        for path, why in self.broken_runs():
            run_id = path.name[4:-8] if path.name.startswith("run_") else None
            if run_id in run_ids and path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
                removed.append(run_id)
            else:
                print(f"warning: {path} is broken ({why}) and is not a run of this sweep: left in place; "
                      "results and analyze refuse the folder until it is removed", file=sys.stderr)
        return removed

    def _write_design(self, design: Design) -> None:
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


def check_run_file(path: Path, run_id: str | None = None) -> str | None:
    """Why the run file at ``path`` cannot be used, or ``None`` if it is whole.

    Reads the Parquet footer only (tens of microseconds a file): a truncated, empty or
    non-Parquet file has no footer that parses; the row groups must add up to the row
    count and lie inside the file; and the count must be the one the worker recorded in
    the footer (files written before that record existed are checked without it).
    """
    try:
        size = path.stat().st_size
        meta = pq.read_metadata(path)
    except (OSError, pa.ArrowException) as err:
        text = str(err).split(". ")[0].splitlines()[0] if str(err).strip() else type(err).__name__
        return f"unreadable: {text}"
    if sum(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) != meta.num_rows:
        return "row groups do not add up to the row count"
    end = size - 8 - meta.serialized_size  # data ends where the footer (and its length and magic) begins
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        for j in range(group.num_columns):
            col = group.column(j)
            start = min((o for o in (col.dictionary_page_offset, col.data_page_offset) if o), default=0)
            if start + col.total_compressed_size > end:
                return "data runs past the end of the file"
    kv = meta.metadata or {}
    if RUN_ROWS_KEY in kv:
        try:
            expected = int(kv[RUN_ROWS_KEY])
        except ValueError:
            return "unreadable row count record"
        if expected != meta.num_rows:
            return f"{meta.num_rows} rows, {expected} written"
    if run_id is not None and RUN_ID_KEY in kv and kv[RUN_ID_KEY].decode(errors="replace") != run_id:
        return f"holds run {kv[RUN_ID_KEY].decode(errors='replace')}, not {run_id}"
    return None


class FolderLock:
    """An exclusive ``flock`` on a sweep folder's lock file, which records the holder.

    Why ``flock``: the kernel releases it when the holding process ends, however it ends
    (``kill -9`` included), so there is no stale lock to guess about; the pid in the file
    is only for the message. Python opens files close-on-exec, so worker processes do not
    inherit it. :meth:`release` (also run when the object is collected, and at exit)
    removes the file while still holding the lock; :meth:`take` checks that the file it
    locked is still the one at the path, so a sweep that opened the file just before it
    was removed does not lock an orphan.
    """

    def __init__(self, path: Path, fd: int | None, previous: dict[str, Any] | None = None):
        self.path = path
        self.previous = previous  # what a killed holder left in the file, if anything
        self._finalizer = weakref.finalize(self, _release_lock, path, fd)

    @classmethod
    def take(cls, path: Path) -> "FolderLock":
        path = Path(path)
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as err:
                raise SpecError.one(str(path.parent), "--out", f"cannot create the lock file {path.name}: "
                                    f"{err.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder_text(_read_holder(fd))
                os.close(fd)
                raise SpecError.one(str(path.parent), "--out",
                                    f"in use by another sweep ({holder}, lock file {path}); wait for it to finish "
                                    "or stop it, then rerun this command to resume") from None
            except OSError as err:  # a file system without locks (some network mounts): go on, unlocked
                if err.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
                    os.close(fd)
                    raise
                os.close(fd)
                print(f"warning: cannot lock {path.parent} ({err.strerror}): make sure no other sweep writes "
                      "to this folder at the same time", file=sys.stderr)
                return cls(path, None)
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if not same:  # released and removed between our open and our flock: lock the new file
                os.close(fd)
                continue
            break
        previous = _read_holder(fd)
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "command": sys.argv}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        lock = cls(path, fd, previous if previous and previous.get("pid") != os.getpid() else None)
        if lock.previous:
            print(f"note: {path} was left by a sweep that has ended ({_holder_text(lock.previous)}); "
                  "taken over", file=sys.stderr)
        return lock

    @property
    def held(self) -> bool:
        return self._finalizer.alive

    def release(self) -> None:
        self._finalizer()

    def __enter__(self) -> "FolderLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _release_lock(path: Path, fd: int | None) -> None:
    if fd is None:  # not locked (see take)
        return
    try:
        if os.path.samestat(os.fstat(fd), os.stat(path)):  # still ours (not replaced by hand)
            path.unlink()
    except OSError:
        pass
    finally:
        os.close(fd)  # closing the only descriptor of the open file drops the flock


def _read_holder(fd: int) -> dict[str, Any] | None:
    try:
        data = os.pread(fd, 4096, 0)
        holder = json.loads(data) if data.strip() else None
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _holder_text(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "a process that has not yet written its pid"
    text = f"pid {holder.get('pid')} on host {holder.get('host')}"
    return text + (f", started {holder['started']}" if holder.get("started") else "")


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
