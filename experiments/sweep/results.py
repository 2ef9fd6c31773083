"""Read a sweep folder with DuckDB: a summary, or any SQL over the runs.

``crypto-abm results DIR`` prints how many runs are done and failed and, per metric at
the last step, the mean and s.d. across runs (and per design point when the design is
small). ``crypto-abm results DIR --sql "SELECT ..."`` runs SQL over two views:

- ``runs``: every run file, ``read_parquet('DIR/runs/*.parquet', union_by_name=true)``;
  columns ``run_id, point, replicate, seed, <parameter paths>, step, date, country,
  metric, value`` (parameter columns are named by their dotted path, so quote them:
  ``"shocks.pak_allocation.mw"``);
- ``design``: ``design.parquet``, one row per run, done or not.

Why DuckDB: it reads the folder in place, streaming, whatever its size, so nothing has
to be merged first. Two DuckDB 2.0 habits are kept here (see SWEEPS.md): results are
consumed (``.df()``) right after each ``execute``, before the next query, and nothing
calls ``fetchone()`` on a relation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from experiments.sweep.errors import SpecError
from experiments.sweep.storage import SweepFolder

SMALL_DESIGN = 12  # at most this many design points: also summarise by point


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def open_folder(path: str | Path) -> tuple[SweepFolder, dict[str, Any]]:
    """The folder and its manifest; refuses (exit 2) a folder that is not a sweep's, or one
    with a broken run file, which would otherwise fail inside DuckDB."""
    folder = SweepFolder(path)
    manifest = folder.read_manifest()
    if manifest is None:
        raise SpecError.one(str(folder.root), "DIR", "not a sweep folder (no manifest.json)")
    folder.refuse_broken(manifest)
    return folder, manifest


def connect(folder: SweepFolder):
    """A DuckDB connection with the views ``runs`` (if any run is done) and ``design``."""
    con = duckdb.connect()
    if folder.done_ids():
        glob = (folder.runs / "*.parquet").as_posix()
        con.execute(f"CREATE VIEW runs AS SELECT * FROM read_parquet({sql_string(glob)}, union_by_name=true)")
    if folder.design_path.is_file():
        con.execute(f"CREATE VIEW design AS SELECT * FROM read_parquet({sql_string(folder.design_path.as_posix())})")
    return con


def query(path: str | Path, sql: str) -> pd.DataFrame:
    """Run ``sql`` over the folder's ``runs`` and ``design`` views; return a DataFrame."""
    folder, _ = open_folder(path)
    if not folder.done_ids():
        raise SpecError.one(str(folder.root), "--sql", "no finished runs yet (runs/ is empty)", sql)
    con = connect(folder)
    try:
        return con.execute(sql).df()
    except duckdb.Error as err:
        raise SpecError.one(str(folder.root), "--sql", str(err).splitlines()[0], sql) from None
    finally:
        con.close()


def last_step_summary(path: str | Path, country: str = "WORLD",
                      by_point: bool | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Per metric at each run's last step, at ``country``: runs, mean, sd, min, max; and the
    same per design point (mean and sd over replicates) when the design is small."""
    folder, manifest = open_folder(path)
    if not folder.done_ids():
        return pd.DataFrame(columns=["metric", "runs", "mean", "sd", "min", "max"]), None
    order = {m: i for i, m in enumerate(manifest["spec"]["output"]["metrics"])}
    params = manifest["design"]["parameters"]
    con = connect(folder)
    con.execute("CREATE TEMP VIEW last AS SELECT * FROM runs WHERE country = "
                f"{sql_string(country)} QUALIFY step = max(step) OVER (PARTITION BY run_id)")
    overall = con.execute("SELECT metric, any_value(date) AS date, count(*) AS runs, avg(value) AS mean, "
                          "stddev_samp(value) AS sd, min(value) AS min, max(value) AS max "
                          "FROM last GROUP BY metric").df()
    overall = overall.sort_values("metric", key=lambda s: s.map(lambda m: order.get(m, len(order))))
    points = None
    if by_point is None:
        by_point = manifest["design"]["points"] <= SMALL_DESIGN
    if by_point and len(overall):
        cols = ", ".join(["point"] + [_ident(p) for p in params])
        points = con.execute(f"SELECT {cols}, metric, count(*) AS runs, avg(value) AS mean, "
                             f"stddev_samp(value) AS sd FROM last GROUP BY ALL").df()
        points = points.sort_values(["metric", "point"],
                                    key=lambda s: s.map(lambda m: order.get(m, len(order))) if s.name == "metric"
                                    else s)
    con.close()
    return overall.reset_index(drop=True), (points.reset_index(drop=True) if points is not None else None)


def summary_text(path: str | Path, country: str = "WORLD") -> str:
    folder, manifest = open_folder(path)
    d = manifest["design"]
    done = folder.done_ids()
    failures = folder.read_failures()
    total = d["runs"]
    lines = [
        f"sweep {folder.root}",
        f"  spec {manifest['spec_file']} (sha256 {manifest['spec_sha256'][:12]}...), scenario "
        f"{manifest['scenario']['name']}, {manifest['scenario']['start']} to {manifest['scenario']['until']}, "
        f"{manifest['scenario']['households']} household agents",
        f"  {d['kind']} design over {', '.join(d['parameters']) or 'no parameters'}: {d['points']} points x "
        f"{d['replicates']} replicates = {total} runs; root seed {manifest['root_seed']}",
        f"  runs done {len(done)}, failed {len(failures)}, remaining {total - len(done) - len(failures)}",
    ]
    for f in failures[:10]:
        first = str(f.get("error") or "").splitlines()[0] if f.get("error") else ""
        lines.append(f"    failed {f.get('run_id')}: {f.get('error_type', '')}: {first}")
    if len(failures) > 10:
        lines.append(f"    ... and {len(failures) - 10} more in {folder.failed}/")
    if country not in manifest["spec"]["output"]["countries"]:
        lines.append(f"\n(country {country} is not kept by this sweep; kept: "
                     f"{', '.join(manifest['spec']['output']['countries'])})")
        return "\n".join(lines)
    overall, points = last_step_summary(path, country)
    if len(overall):
        date = overall["date"].iloc[0]
        lines.append(f"\nat the last step ({pd.Timestamp(date).date()}), {country}, across runs:")
        lines.append(table_text(overall.drop(columns=["date"])))
        if points is not None and len(points):
            lines.append("\nby design point (mean and sd over replicates):")
            lines.append(table_text(points))
    lines.append(f"\nSQL: crypto-abm results {folder.root} --sql \"SELECT ... FROM runs\" "
                 "(views: runs, design)")
    return "\n".join(lines)


def table_text(df: pd.DataFrame) -> str:
    return df.to_string(index=False, float_format=lambda x: f"{x:.6g}", na_rep="-")
