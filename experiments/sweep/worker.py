"""What runs in a worker: one model run in, one Parquet file's bytes (or an error) out.

Why the worker returns bytes instead of writing the file: the parent is then the only
writer of the sweep folder (atomic renames, failure records and resume all live in one
place), and a Dask cluster on other machines needs no shared file system. A run's file
is tens of kilobytes, and the parent writes each result as it arrives and drops it, so
its memory stays flat however long the sweep.

Why errors come back as data, not exceptions: the sweep must go on past a run that
raises, and some exceptions (ours included) do not survive pickling back to the parent.
The traceback text is kept for ``failed/run_<id>.json``.

Everything here is importable by name (``experiments.sweep.worker.run_task``), so it
pickles by reference to spawned, forkserver and Dask workers alike.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from experiments.provenance import pid_alive
from experiments.sweep.storage import RUN_ID_KEY, RUN_ROWS_KEY
from model.model import CryptoAdoptionModel


@dataclass(frozen=True)
class RunTask:
    """Everything one run needs; small and picklable."""

    run_id: str
    point: int
    replicate: int
    seed: int
    params: tuple[tuple[str, Any], ...]   # varied parameters, in spec order
    fixed: tuple[tuple[str, Any], ...]    # the spec's [set] overrides
    scenario: str                         # a scenario name or an absolute path
    households: int
    until: dt.date
    metrics: tuple[str, ...]
    countries: tuple[str, ...]
    every: int
    links: tuple[tuple[str, tuple[str, ...]], ...] = ()  # linked parameters: name -> the paths it sets

    def overrides(self) -> dict[str, Any]:
        out = dict(self.fixed)
        links = dict(self.links)
        for name, value in self.params:
            for path in links.get(name, (name,)):
                out[path] = value
        return out


def watch_parent(pid: int, interval: float = 1.0) -> None:
    """Pool initializer: exit when the sweep's parent process is gone.

    A process-pool worker holds both ends of its own task pipe, so when the parent is
    killed (SIGKILL, out of memory) it would wait for work forever, and keep the fork
    server alive with it. A daemon thread checks the parent once a ``interval`` seconds.
    """
    def loop() -> None:
        while True:
            time.sleep(interval)
            if not pid_alive(pid):
                os._exit(3)

    threading.Thread(target=loop, name="sweep-parent-watch", daemon=True).start()


def run_task(task: RunTask) -> dict[str, Any]:
    """Build and run one model; return ``{"ok": True, "data": <parquet bytes>, ...}`` or the error."""
    started = time.perf_counter()
    base = {"run_id": task.run_id, "pid": os.getpid()}
    try:
        model = CryptoAdoptionModel(scenario_name=task.scenario, seed=task.seed, households=task.households,
                                    overrides=task.overrides())
        model.run(until=task.until)
        table = run_table(model.timeseries(), task)
        data = parquet_bytes(table)
        return {**base, "ok": True, "data": data, "rows": table.num_rows,
                "seconds": time.perf_counter() - started}
    except Exception as err:  # noqa: BLE001 - any failure of one run is recorded, the sweep goes on
        return {**base, "ok": False, "error_type": type(err).__name__, "error": str(err),
                "traceback": traceback.format_exc(), "seconds": time.perf_counter() - started}


def run_table(ts, task: RunTask) -> pa.Table:
    """The kept rows (metrics x countries, every ``every`` steps plus the last) with the
    run's identity and parameter values as constant columns."""
    step = ts["step"].to_numpy()
    last = int(step.max()) if len(step) else 0
    keep = (((step % task.every) == 0) | (step == last)) & ts["metric"].isin(task.metrics).to_numpy() \
        & ts["country"].isin(task.countries).to_numpy()
    ts = ts[keep]
    n = len(ts)
    columns: dict[str, pa.Array] = {
        "run_id": pa.array([task.run_id] * n, pa.string()),
        "point": pa.array(np.full(n, task.point, dtype=np.int64)),
        "replicate": pa.array(np.full(n, task.replicate, dtype=np.int64)),
        "seed": pa.array(np.full(n, task.seed, dtype=np.int64)),
    }
    for name, value in task.params:
        columns[name] = pa.array([value] * n, _arrow_type(value))
    columns["step"] = pa.array(ts["step"].to_numpy(dtype=np.int32))
    columns["date"] = pa.array(ts["date"].dt.date.to_numpy(), pa.date32())
    columns["country"] = pa.array(ts["country"].astype(str).to_numpy(), pa.string())
    columns["metric"] = pa.array(ts["metric"].astype(str).to_numpy(), pa.string())
    columns["value"] = pa.array(ts["value"].to_numpy(dtype=np.float64))
    # recorded in the file's footer, so a resume can tell a whole file from a damaged one
    return pa.table(columns).replace_schema_metadata({RUN_ID_KEY: task.run_id.encode(), RUN_ROWS_KEY: str(n).encode()})


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def _arrow_type(value: Any) -> pa.DataType:
    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, int):
        return pa.int64()
    if isinstance(value, float):
        return pa.float64()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return pa.date32()
    return pa.string()
