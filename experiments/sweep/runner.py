"""Run a sweep: prepare the folder, then stream runs through any ``concurrent.futures.Executor``.

Why an Executor: the stdlib process pool (default) and Dask (``client.get_executor
(pure=False)``, for more than one machine) then share one loop, and a test can hand in
any executor. Why these settings:

- The process pool uses a ``forkserver`` context, never ``fork``: forking a parent that
  has pyarrow/DuckDB threads alive can deadlock. The fork server preloads the model, so
  each worker starts in milliseconds instead of re-importing it.
- Dask must be told ``pure=False``, or it merges identical calls (identical replicates).
- The loop keeps a bounded number of runs in flight (twice the worker slots) and writes
  each result as it completes, then forgets it: the parent never holds all runs' rows
  and never creates a future per run up front, so its memory stays flat.
- Results are keyed by run id, never by completion order, so the numbers do not depend
  on the executor or the number of workers.

A run that raises is written to ``failed/`` and the sweep goes on. A worker process that
dies (the pool breaks) stops the sweep with a message; the same command resumes it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import multiprocessing as mp
import os
import sys
import time
import traceback
import warnings
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from tqdm import tqdm

from experiments import provenance
from experiments.outdir import sweep_out
from experiments.sweep.design import Design, make_design, replicate_seeds, row_parameters, sampler_seed
from experiments.sweep.errors import SpecError
from experiments.sweep.spec import SweepSpec, load_spec
from experiments.sweep.storage import FolderLock, SweepFolder
from experiments.sweep.worker import RunTask, run_task, watch_parent

EXECUTORS = ("process", "dask")
EXTRA_PACKAGES = ("SALib", "duckdb", "dask", "distributed", "tqdm")
#: Modules the fork server imports once, so forked workers start warm.
PRELOAD = ["experiments.sweep.worker"]


class SweepAborted(RuntimeError):
    """The executor broke (a worker process died); finished runs are kept, rerun to resume."""


@dataclass
class Prepared:
    spec: SweepSpec
    design: Design
    folder: SweepFolder
    resumed: bool
    todo: list[RunTask]
    done_before: int
    failed_before: int
    cleaned: int = 0
    recomputed: int = 0            # broken run files found on resume, deleted to be run again
    lock: FolderLock | None = None  # the folder's lock, held until release()

    def release(self) -> None:
        """Release the folder's lock (the sweep is over, or was stopped)."""
        if self.lock is not None:
            self.lock.release()


@dataclass
class Report:
    out: Path
    runs: int
    done: int = 0           # runs with a file, in total
    failed: int = 0         # runs with a failure record and no file
    ran: int = 0            # runs finished (ok or not) in this session
    skipped: int = 0        # runs already done before this session
    seconds: float = 0.0
    resumed: bool = False
    failures: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.runs - self.done


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------- executors
@contextlib.contextmanager
def open_executor(kind: str = "process", workers: int | None = None,
                  scheduler: str | None = None) -> Iterator[tuple[Executor, int, str]]:
    """Yield ``(executor, slots, label)``; ``slots`` is how many runs execute at once."""
    workers = workers or default_workers()
    if kind == "process":
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=watch_parent,
                                 initargs=(os.getpid(),))
        try:
            yield ex, workers, f"process pool (forkserver), {workers} workers"
        except BaseException:
            _stop_process_pool(ex)
            raise
        else:
            ex.shutdown(wait=True)
    elif kind == "dask":
        # Dask is imported only for --executor dask: it takes ~1 s and starts its own logging.
        from distributed import Client, LocalCluster
        cluster = None
        if scheduler:
            client = connect_scheduler(Client, scheduler)
            label = f"dask at {scheduler}"
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
            label = f"dask local cluster, {workers} worker processes"
        try:
            slots = max(1, sum(client.nthreads().values()))
            yield client.get_executor(pure=False), slots, label
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    else:
        raise ValueError(f"unknown executor {kind!r} (known: {', '.join(EXECUTORS)})")


#: How long to wait for a Dask scheduler to answer (Dask's own default is 30 s, then a traceback).
SCHEDULER_CONNECT_SECONDS = 5


def connect_scheduler(client_class, address: str):
    """A Dask client of the scheduler at ``address``, or a one-line error (exit 2) fast."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return client_class(address, timeout=SCHEDULER_CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        if isinstance(err, (ValueError, TypeError)):
            message = f"not a scheduler address, e.g. tcp://HOST:8786 ({reason})"
        else:
            message = f"no Dask scheduler answered within {SCHEDULER_CONNECT_SECONDS} s ({reason})"
        raise SpecError.one("crypto-abm sweep", "--scheduler", message, address) from None


def _stop_process_pool(ex) -> None:
    """On interrupt: drop queued runs and stop the workers we started (not just wait)."""
    processes = list(getattr(ex, "_processes", {}).values())
    ex.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(timeout=5)


# ---------------------------------------------------------------------------- preparing
def versions() -> dict[str, str]:
    return provenance.versions(EXTRA_PACKAGES)


def build_manifest(spec: SweepSpec, design: Design, argv: list[str] | None = None,
                   label: str | None = None) -> dict[str, Any]:
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    git = provenance.git_commit()
    vers = versions()
    settings = spec.design.canonical()
    return {
        "kind": "crypto-abm sweep",
        "format": 1,
        "spec_file": str(spec.file),
        "spec_sha256": spec.sha256(),
        "spec": spec.canonical(),
        "description": spec.description,
        "root_seed": spec.seed,
        "replicate_seeds": replicate_seeds(spec.seed, spec.replicates),
        "sampler_seed": None if design.kind == "grid" else sampler_seed(spec.seed),
        "design": {**settings, "parameters": design.names, "points": len(design.points),
                   "replicates": spec.replicates, "runs": len(design.table)},
        "salib_problem": design.problem,
        "transforms": design.transforms,
        "links": {name: list(paths) for name, paths in spec.links},
        "scenario": {"name": spec.scenario_name, "ref": spec.scenario_ref, "sha256": spec.scenario_sha256,
                     "start": spec.start.isoformat(), "until": spec.until.isoformat(),
                     "households": spec.households, "region": list(spec.region)},
        "analysis": spec.analysis,
        "warnings": list(spec.warnings),
        "versions": vers,
        "git": git,
        "created": now,
        "session": {"started": now, "command": argv if argv is not None else sys.argv, "executor": label,
                    "git": git, "versions": vers},
    }


def tasks_for(spec: SweepSpec, design: Design, run_ids: set[str] | None = None) -> list[RunTask]:
    names = design.names
    fixed = tuple(spec.fixed.items())
    tasks = []
    for row in design.table.to_dict("records"):
        if run_ids is not None and row["run_id"] not in run_ids:
            continue
        params = row_parameters(row, names)
        tasks.append(RunTask(run_id=row["run_id"], point=int(row["point"]), replicate=int(row["replicate"]),
                             seed=int(row["seed"]), params=tuple(params.items()), fixed=fixed,
                             scenario=spec.scenario_ref, households=spec.households, until=spec.until,
                             metrics=spec.metrics, countries=spec.countries, every=spec.every,
                             links=spec.links))
    return tasks


def prepare(spec: SweepSpec, out: str | Path, *, argv: list[str] | None = None,
            label: str | None = None) -> Prepared:
    """Make the design, lock and create or check the folder, and list the runs still to do.

    The returned :class:`Prepared` holds the folder's lock: call its ``release()`` when the
    sweep is over (:func:`run_sweep` and the command line do).
    """
    out = sweep_out(out)  # before the lock: never a file, ".", home, an unwritable place or a run's folder
    design = make_design(spec)
    folder = SweepFolder(out)
    lock = folder.acquire()  # a second sweep into the folder stops here (exit 2)
    try:
        manifest = build_manifest(spec, design, argv, label)
        old = folder.read_manifest()
        resumed = folder.open(manifest, design, str(spec.file))
        if resumed and old is not None:
            _warn_if_environment_changed(old, manifest)
        cleaned = folder.clean_temporary()
        all_ids = set(design.run_ids())
        recomputed = folder.remove_broken_runs(all_ids) if resumed else []
        if recomputed:
            folder.finish_session({"recomputed": sorted(recomputed)})  # this session's manifest entry
            print(f"{folder.runs}: {len(recomputed)} run file(s) broken (truncated or damaged), recomputing: "
                  + ", ".join(recomputed[:10]) + (" ..." if len(recomputed) > 10 else ""), file=sys.stderr)
        done = folder.done_ids()
        todo = tasks_for(spec, design, all_ids - done)
        failed_before = len(folder.failed_ids() - done)
    except BaseException:
        lock.release()
        raise
    return Prepared(spec, design, folder, resumed, todo, len(done & all_ids), failed_before, cleaned,
                    len(recomputed), lock)


def _warn_if_environment_changed(old: dict[str, Any], new: dict[str, Any]) -> None:
    changed = [f"{k} {old['versions'].get(k)} -> {v}" for k, v in new["versions"].items()
               if old.get("versions", {}).get(k) not in (None, v)]
    if (old.get("git") or {}).get("commit") != new["git"].get("commit"):
        changed.append(f"git commit {str((old.get('git') or {}).get('commit'))[:10]} -> "
                       f"{str(new['git'].get('commit'))[:10]}")
    if changed:
        print("warning: resuming with a different environment than the sweep started with: "
              + "; ".join(changed), file=sys.stderr)


# ---------------------------------------------------------------------------- running
def execute(prep: Prepared, executor: Executor, *, slots: int = 1, progress: bool = True,
            on_result: Callable[[dict[str, Any]], None] | None = None) -> Report:
    """Run the prepared runs through ``executor``, writing each result as it completes."""
    folder, total = prep.folder, len(prep.design.table)
    report = Report(out=folder.root, runs=total, done=prep.done_before, skipped=prep.done_before,
                    resumed=prep.resumed)
    failed_now: set[str] = set()
    started = time.perf_counter()
    bar = _bar(prep, total, progress)
    pending: dict[Future, RunTask] = {}
    queue = iter(prep.todo)
    window = max(2, 2 * slots)

    def fill() -> None:
        while len(pending) < window:
            task = next(queue, None)
            if task is None:
                return
            pending[executor.submit(run_task, task)] = task

    try:
        fill()
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in finished:
                task = pending.pop(fut)
                result = _result(fut, task)
                report.ran += 1
                if result["ok"]:
                    folder.write_run(task.run_id, result.pop("data"))
                    report.done += 1
                    failed_now.discard(task.run_id)
                else:
                    folder.write_failure(task.run_id, _failure_record(task, result))
                    failed_now.add(task.run_id)
                    report.failures.append(f"{task.run_id}: {result['error_type']}: "
                                           f"{str(result['error']).splitlines()[0] if result['error'] else ''}")
                result.pop("data", None)
                if on_result is not None:
                    on_result(result)
                if bar is not None:
                    bar.set_postfix_str(f"done {report.done}, failed {len(failed_now)}, "
                                        f"remaining {total - report.done - len(failed_now)}", refresh=False)
                    bar.update(1)
            fill()
    except BaseException:
        for fut in pending:
            fut.cancel()
        raise
    finally:
        if bar is not None:
            bar.close()
        report.seconds = time.perf_counter() - started
        report.failed = len(folder.failed_ids() - folder.done_ids())
        with contextlib.suppress(Exception):
            folder.finish_session({"finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                                   "ran": report.ran, "done": report.done, "failed": report.failed,
                                   "seconds": round(report.seconds, 2)})
    return report


def _result(fut: Future, task: RunTask) -> dict[str, Any]:
    """A finished future's result; an error raised outside ``run_task`` becomes a failure."""
    try:
        return fut.result()
    except BrokenProcessPool as err:
        raise SweepAborted(f"a worker process died ({err}); finished runs are kept: rerun the same "
                           "command to resume") from err
    except Exception as err:  # noqa: BLE001 - e.g. dask KilledWorker, a pickling error
        return {"run_id": task.run_id, "ok": False, "error_type": type(err).__name__, "error": str(err),
                "traceback": "".join(traceback.format_exception(err)), "seconds": None, "pid": None}


def _failure_record(task: RunTask, result: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": task.run_id, "point": task.point, "replicate": task.replicate, "seed": task.seed,
        "parameters": dict(task.params), "links": {k: list(v) for k, v in task.links}, "set": dict(task.fixed),
        "scenario": task.scenario,
        "households": task.households, "until": task.until,
        "error_type": result.get("error_type"), "error": result.get("error"),
        "traceback": result.get("traceback"), "seconds": result.get("seconds"), "pid": result.get("pid"),
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _bar(prep: Prepared, total: int, progress: bool):
    if not progress:
        return None
    tty = sys.stderr.isatty()
    bar = tqdm(total=total, initial=prep.done_before, unit="run", desc=prep.spec.file.stem, file=sys.stderr,
               dynamic_ncols=tty, mininterval=0.5 if tty else 15.0, smoothing=0.1)
    bar.set_postfix_str(f"done {prep.done_before}, failed 0, remaining {total - prep.done_before}"
                        + (f" (retrying {prep.failed_before} failed)" if prep.failed_before else ""), refresh=False)
    return bar


def run_prepared(prep: Prepared, kind: str = "process", workers: int | None = None, scheduler: str | None = None,
                 *, progress: bool = True) -> Report:
    """Run what is left of a prepared sweep (:func:`execute`), opening an executor
    (:func:`open_executor`) only if runs are left; the session is recorded either way."""
    if not prep.todo:
        return execute(prep, None, progress=False)  # nothing to submit: the executor is never used
    with open_executor(kind, workers, scheduler) as (ex, slots, _):
        return execute(prep, ex, slots=slots, progress=progress)


def run_sweep(spec: SweepSpec | str | Path, out: str | Path, executor: Executor, *, slots: int = 1,
              label: str | None = None, progress: bool = False, argv: list[str] | None = None,
              on_result: Callable[[dict[str, Any]], None] | None = None) -> Report:
    """The Python API: ``run_sweep(spec_or_path, out_dir, executor)`` -> :class:`Report`."""
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    prep = prepare(spec, out, argv=argv, label=label)
    try:
        return execute(prep, executor, slots=slots, progress=progress, on_result=on_result)
    finally:
        prep.release()
