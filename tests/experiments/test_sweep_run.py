"""Sweeps end to end: every design kind, failures, identical numbers on every executor, results.

Runs are tiny (1,800 household agents, two months: well under a second each). One
process pool (forkserver, 2 workers) is shared by the module, as a user's sweep would
share one pool across its runs.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import read_runs

from experiments.cli import main
from experiments.sweep.results import last_step_summary, query, summary_text
from experiments.sweep.runner import open_executor, prepare, run_sweep
from experiments.sweep.spec import load_spec

HEAD = """
scenario = "south_asia_2025"
until = 2025-03-01
households = 1800
"""
DESIGNS = {
    "grid": """
        replicates = 2
        [design]
        kind = "grid"
        [parameters."shocks.pak_allocation.tariff_usd_per_kwh"]
        values = [0.05, 0.12]
        [parameters."shocks.pak_vao.enabled"]
        values = [true, false]
        """,
    "lhs": """
        [design]
        kind = "lhs"
        samples = 4
        [parameters."mining.hurdle_margin"]
        low = 0.2
        high = 2.0
        log = true
        [parameters."mining.lead_time_weeks"]
        low = 4
        high = 30
        integer = true
        """,
    "sobol": """
        [design]
        kind = "sobol"
        samples = 2
        [parameters."mining.hurdle_margin"]
        low = 0.2
        high = 1.2
        [parameters."households.imitation_per_year"]
        low = 0.1
        high = 0.8
        """,
    "morris": """
        [design]
        kind = "morris"
        trajectories = 2
        levels = 4
        [parameters."mining.hurdle_margin"]
        low = 0.2
        high = 1.2
        [parameters."households.imitation_per_year"]
        low = 0.1
        high = 0.8
        """,
}


def spec_file(tmp_path: Path, body: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(HEAD) + textwrap.dedent(body))
    return path



# ----------------------------------------------------------------------------- every design kind
@pytest.mark.parametrize("kind", list(DESIGNS))
def test_sweep_end_to_end(tmp_path, pool, kind):
    ex, slots = pool
    spec = load_spec(spec_file(tmp_path, DESIGNS[kind] + '\n[output]\nevery = 3\n'
                               'metrics = ["hashrate_ehs", "adoption_rate", "btc_price_usd"]\n'
                               'countries = ["PAK", "WORLD"]\n'))
    out = tmp_path / "out"
    report = run_sweep(spec, out, ex, slots=slots)
    design = pd.read_parquet(out / "design.parquet")
    assert report.done == report.runs == len(design) and report.failed == 0
    files = sorted(p.name for p in (out / "runs").iterdir())
    assert files == sorted(f"run_{r}.parquet" for r in design["run_id"])
    assert not list((out / "failed").iterdir())

    runs = read_runs(out)
    # the run's parameters, replicate and seed ride along in every row
    per_run = runs.drop_duplicates("run_id").set_index("run_id")
    d = design.set_index("run_id")
    for col in ["point", "replicate", "seed"] + spec.names:
        assert per_run[col].tolist() == d.loc[per_run.index, col].tolist(), col
    # kept rows: chosen metrics and countries, every 3rd step plus the last
    assert set(runs["metric"]) == {"hashrate_ehs", "adoption_rate", "btc_price_usd"}
    assert set(runs["country"]) == {"PAK", "WORLD"}
    last = runs["step"].max()
    assert last == 8 and sorted(runs["step"].unique()) == [0, 3, 6, 8]

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["spec_sha256"] == spec.sha256() and manifest["root_seed"] == spec.seed
    assert manifest["design"]["kind"] == kind and manifest["design"]["runs"] == len(design)
    assert manifest["versions"]["SALib"] and manifest["versions"]["mesa"] == "3.5.1"
    assert set(manifest["git"]) == {"commit", "dirty"}
    if kind == "grid":
        assert manifest["salib_problem"] is None
    else:
        assert manifest["salib_problem"]["names"] == spec.names
        assert np.load(out / "sample.npy").shape == (manifest["design"]["points"], 2)


# ----------------------------------------------------------------------------- failures
def test_a_run_that_raises_is_recorded_and_the_sweep_goes_on(tmp_path, pool, capsys):
    # Each value is valid alone; 0.7 + 0.5 > 1 breaks a cross-field rule only at run time.
    path = spec_file(tmp_path, """
        [design]
        kind = "grid"
        [parameters."mining.relocate_share"]
        values = [0.5, 0.7]
        [parameters."mining.underground_share"]
        values = [0.2, 0.5]
        """)
    out = tmp_path / "out"
    ex, slots = pool
    report = run_sweep(load_spec(path), out, ex, slots=slots)
    assert (report.done, report.failed) == (3, 1)
    record = json.loads((out / "failed" / "run_p0003_r00.json").read_text())
    assert record["parameters"] == {"mining.relocate_share": 0.7, "mining.underground_share": 0.5}
    assert record["error_type"] == "ScenarioError" and "must not exceed 1" in record["error"]
    assert "Traceback" in record["traceback"] and record["seed"] > 0
    assert not (out / "runs" / "run_p0003_r00.parquet").exists()

    # A rerun retries the failed run (only that one) and exits 1 while it still fails.
    before = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 1
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == before
    again = json.loads((out / "failed" / "run_p0003_r00.json").read_text())
    assert again["pid"] != record["pid"] or again["when"] >= record["when"]
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert [s["ran"] for s in sessions] == [4, 1]


def test_a_failure_record_is_cleared_when_its_run_succeeds(tmp_path, pool):
    ex, slots = pool
    spec = load_spec(spec_file(tmp_path, DESIGNS["grid"]))
    out = tmp_path / "out"
    run_sweep(spec, out, ex, slots=slots)
    victim = out / "runs" / "run_p0002_r01.parquet"
    victim.unlink()
    (out / "failed" / "run_p0002_r01.json").write_text('{"run_id": "p0002_r01", "error": "boom"}')
    report = run_sweep(spec, out, ex, slots=slots)
    assert report.ran == 1 and report.done == 8 and report.failed == 0
    assert victim.exists() and not list((out / "failed").iterdir())


# ----------------------------------------------------------------------------- same numbers everywhere
@pytest.fixture(scope="module")
def reference(tmp_path_factory, pool):
    tmp = tmp_path_factory.mktemp("reference")
    spec = load_spec(spec_file(tmp, DESIGNS["grid"]))
    ex, slots = pool
    run_sweep(spec, tmp / "out", ex, slots=slots)
    return spec, read_runs(tmp / "out")


def test_same_numbers_with_one_worker(tmp_path, reference):
    spec, expected = reference
    with open_executor("process", 1) as (ex, slots, _):
        run_sweep(spec, tmp_path / "one", ex, slots=slots)
    pd.testing.assert_frame_equal(read_runs(tmp_path / "one"), expected)
    # replicates differ, and common random numbers: replicate r shares its seed across points
    assert expected.groupby("replicate")["seed"].nunique().eq(1).all()
    # replicates are not copies: each point's adoption paths differ somewhere (two months
    # of 1,800 households see only a few adoptions, so one end value may coincide)
    adoption = expected[expected.metric == "adoption_rate"]
    by_point = adoption.pivot_table(index=["point", "country", "step"], columns="replicate", values="value")
    assert (by_point[0] != by_point[1]).groupby(level="point").any().all()


def test_same_numbers_on_a_local_dask_cluster_threads(tmp_path, reference):
    from distributed import Client, LocalCluster
    spec, expected = reference
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        run_sweep(spec, tmp_path / "dask", client.get_executor(pure=False), slots=2)
    pd.testing.assert_frame_equal(read_runs(tmp_path / "dask"), expected)


def test_same_numbers_on_a_local_dask_cluster_processes(tmp_path, reference):
    """Worker processes (what ``--executor dask`` starts): tasks and results are pickled both ways."""
    spec, expected = reference
    with open_executor("dask", 2) as (ex, slots, label):
        assert slots == 2 and "local cluster" in label
        run_sweep(spec, tmp_path / "dask", ex, slots=slots)
    pd.testing.assert_frame_equal(read_runs(tmp_path / "dask"), expected)


def test_cli_with_a_dask_scheduler_address(tmp_path, reference, capsys):
    from distributed import LocalCluster
    spec, expected = reference
    out = tmp_path / "out"
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None,
                      host="127.0.0.1", protocol="tcp://") as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        code = main(["sweep", str(spec.file), "--scheduler", cluster.scheduler_address, "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    pd.testing.assert_frame_equal(read_runs(out), expected)
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert sessions[0]["executor"] == "dask"
    assert main(["sweep", str(spec.file), "--executor", "process", "--scheduler", "tcp://127.0.0.1:1"]) == 2


# ----------------------------------------------------------------------------- results
def test_results_summary_and_sql(tmp_path, reference, capsys):
    spec, expected = reference
    out = tmp_path / "out"
    with open_executor("process", 1) as (ex, slots, _):
        run_sweep(spec, out, ex, slots=slots)

    overall, points = last_step_summary(out)
    hr = overall.set_index("metric").loc["hashrate_ehs"]
    last = expected[(expected.metric == "hashrate_ehs") & (expected.country == "WORLD")
                    & (expected.step == expected.step.max())]["value"]
    assert hr["runs"] == 8 and np.isclose(hr["mean"], last.mean()) and np.isclose(hr["sd"], last.std())
    assert len(points[points.metric == "hashrate_ehs"]) == 4  # a small design: by point too
    text = summary_text(out)
    assert "runs done 8, failed 0, remaining 0" in text and "hashrate_ehs" in text

    df = query(out, 'SELECT run_id, count(*) AS n FROM runs GROUP BY run_id ORDER BY run_id')
    assert len(df) == 8 and df["n"].nunique() == 1
    df = query(out, 'SELECT "shocks.pak_vao.enabled" AS vao, count(DISTINCT run_id) AS n FROM runs GROUP BY ALL')
    assert sorted(df["n"]) == [4, 4]
    df = query(out, "SELECT count(*) AS n FROM design")
    assert df["n"].iloc[0] == 8

    assert main(["results", str(out)]) == 0
    assert "runs done 8" in capsys.readouterr().out
    assert main(["results", str(out), "--csv", "--sql", "SELECT count(DISTINCT run_id) AS n FROM runs"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "8"]
    assert main(["results", str(out), "--sql", "SELECT nope FROM runs"]) == 2
    assert "--sql" in capsys.readouterr().err
    assert main(["results", str(tmp_path)]) == 2  # not a sweep folder


def test_results_of_a_sweep_with_no_finished_run(tmp_path, capsys):
    spec = load_spec(spec_file(tmp_path, DESIGNS["grid"]))
    prepare(spec, tmp_path / "out")  # folder, manifest and design; nothing run
    assert "runs done 0, failed 0, remaining 8" in summary_text(tmp_path / "out")
    assert main(["results", str(tmp_path / "out"), "--sql", "SELECT 1"]) == 2
    assert "no finished runs yet" in capsys.readouterr().err


def test_run_file_schema_is_plain(tmp_path, reference, pool):
    """Plain Arrow types (no pandas categories), so any Parquet reader sees the same table."""
    spec, _ = reference
    ex, slots = pool
    out = tmp_path / "out"
    run_sweep(spec, out, ex, slots=slots)
    schema = pq.read_schema(next((out / "runs").glob("*.parquet")))
    types = {f.name: str(f.type) for f in schema}
    assert types == {"run_id": "string", "point": "int64", "replicate": "int64", "seed": "int64",
                     "shocks.pak_allocation.tariff_usd_per_kwh": "double", "shocks.pak_vao.enabled": "bool",
                     "step": "int32", "date": "date32[day]", "country": "string", "metric": "string",
                     "value": "double"}


def test_runs_in_flight_stay_bounded(tmp_path, pool):
    """The parent keeps at most 2 x slots runs (and their results) at a time, whatever the design size."""
    from concurrent.futures import Executor

    ex, _ = pool
    submitted: list = []
    peak = 0

    class Counting(Executor):
        def submit(self, fn, *args, **kwargs):
            nonlocal peak
            peak = max(peak, 1 + sum(not f.done() for f in submitted))
            submitted.append(ex.submit(fn, *args, **kwargs))
            return submitted[-1]

    spec = load_spec(spec_file(tmp_path, DESIGNS["grid"]))
    report = run_sweep(spec, tmp_path / "out", Counting(), slots=1)
    assert report.done == 8 and len(submitted) == 8 and peak <= 2
