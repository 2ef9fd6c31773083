"""``crypto-abm analyze`` on small sweeps: a Sobol and a Morris design.

Two parameters: Pakistan's mining tariff, which decides whether its 2,000 MW allocation
fills, and the Maldives' resistance, which cannot matter for Pakistan's miners. Runs are
short (to 2026-03-01: the May 2025 allocation plus a lead time of up to 36 weeks) and
minimum-size (1,800 households); one process pool serves the module.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from experiments.analysis.analyze import analyze
from experiments.cli import main
from experiments.sweep.runner import open_executor, run_sweep

TOP = """
scenario = "pak_allocation_approved"
until = 2026-03-01
households = 1800
seed = 11
"""
BODY = """
[parameters."shocks.pak_allocation.tariff_usd_per_kwh"]
low = 0.03
high = 0.10
[parameters."countries.MDV.resistance"]
low = 0.0
high = 2.0
[output]
metrics = ["mining_power_mw", "hashrate_ehs", "stance"]
countries = ["PAK", "MDV", "WORLD"]
[analysis]
fan = ["mining_power_mw@PAK"]
[analysis.outcomes]
pak_mw = "max(mining_power_mw@PAK)"
pak_ehs = "last(hashrate_ehs@PAK)"
pak_mines = "max(mining_power_mw@PAK) >= 100"
mdv_moves = "first_change(stance@MDV)"
"""
DESIGNS = {
    "sobol": 'replicates = 2\n[design]\nkind = "sobol"\nsamples = 8\n',
    "morris": 'replicates = 2\n[design]\nkind = "morris"\ntrajectories = 4\n',
}
TARIFF = "shocks.pak_allocation.tariff_usd_per_kwh"
INERT = "countries.MDV.resistance"


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    root = tmp_path_factory.mktemp("analyze")
    out = {}
    with open_executor("process", 2) as (ex, slots, _):
        for kind, design in DESIGNS.items():
            spec = root / f"{kind}.toml"
            spec.write_text(textwrap.dedent(TOP) + design + textwrap.dedent(BODY))
            report = run_sweep(spec, root / kind, ex, slots=slots)
            assert report.failed == 0 and report.done == report.runs
            out[kind] = root / kind
    return out


def _index(a, outcome: str, parameter: str, column: str) -> float:
    d = a.indices
    return float(d[(d["outcome"] == outcome) & (d["parameter"] == parameter)][column].iloc[0])


def test_sobol_indices_rank_the_tariff_above_an_inert_parameter(sweeps):
    a = analyze(sweeps["sobol"])
    assert a.method == "sobol"
    for outcome in ("pak_mw", "pak_ehs", "pak_mines"):
        st_tariff, st_inert = _index(a, outcome, TARIFF, "ST"), _index(a, outcome, INERT, "ST")
        assert st_tariff > 0.2 and abs(st_inert) < 0.05 and st_tariff > st_inert
        assert _index(a, outcome, TARIFF, "S1") > _index(a, outcome, INERT, "S1")
    for col in ("S1_conf", "ST_conf"):
        assert (a.indices[col] >= 0).all() and a.indices[col].notna().all()
    # the indices of single replicates sit beside them (common random numbers: one design per replicate)
    assert {"ST_rep_mean", "ST_rep_sd", "ST_rep_min", "ST_rep_max"} <= set(a.indices.columns)
    assert (a.indices["replicates_used"] == 2).all()
    # MDV's stance never moves by October 2025 here: every run is censored at the horizon, the
    # outcome is constant, and a constant outcome gets no (spurious) indices but a note saying why
    assert a.runs["mdv_moves__censored"].all() and a.runs["mdv_moves"].nunique() == 1
    assert "mdv_moves" not in set(a.indices["outcome"])
    assert "mdv_moves: no indices (the outcome does not vary across the design)" in a.notes


def test_morris_indices_rank_the_tariff_above_an_inert_parameter(sweeps):
    a = analyze(sweeps["morris"], figures=False)
    assert a.method == "morris"
    for outcome in ("pak_mw", "pak_ehs"):
        assert _index(a, outcome, TARIFF, "mu_star") > 10 * max(_index(a, outcome, INERT, "mu_star"), 1e-9)
        assert _index(a, outcome, TARIFF, "mu_star_norm") == pytest.approx(1.0)
    assert (a.indices["mu_star_conf"] >= 0).all() and a.indices["mu_star_conf"].notna().all()


def test_replicate_noise_and_summary(sweeps):
    a = analyze(sweeps["sobol"], figures=False)
    noise = a.noise.set_index("outcome")
    assert set(noise.columns) >= {"total_var", "within_var", "noise_share", "noise_share_of_means"}
    share = noise.loc["pak_mw", "noise_share"]
    assert np.isnan(share) or 0.0 <= share <= 1.0
    s = a.summary.set_index("outcome")
    assert s.loc["pak_mines", "kind"] == "yes/no" and 0 <= s.loc["pak_mines", "ci_low"] <= s.loc["pak_mines", "mean"]
    assert s.loc["mdv_moves", "kind"] == "date" and 0.0 <= s.loc["mdv_moves", "censored"] <= 1.0
    assert len(a.runs) == 64 and len(a.points) == 32


def test_report_fan_charts_and_tables_are_written(sweeps):
    a = analyze(sweeps["sobol"])
    out = Path(a.out)
    for name in ("report.md", "outcomes.parquet", "points.parquet", "indices.csv", "noise.csv", "summary.csv",
                 "analysis.json", "fan_mining_power_mw_PAK.png", "indices_pak_mw.png", "prim_pak_mines.png",
                 "prim_pak_mines.csv"):
        assert (out / name).is_file(), name
    assert (out / "fan_mining_power_mw_PAK.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (out / "report.md").read_text()
    for section in ("## Outcomes", "## Replicate noise", "## Sensitivity", "## Where yes/no outcomes happen (PRIM)",
                    "## Fan charts"):
        assert section in text


def test_prim_box_holds_the_yes_runs_at_a_higher_density(sweeps):
    a = analyze(sweeps["sobol"], figures=False)
    res = a.prim["pak_mines"]
    box = res.box
    assert box.restricted == [TARIFF]  # the inert parameter is not part of the box
    lo, hi = box.limits[TARIFF]
    x = a.runs[TARIFF].to_numpy()
    inside = (x >= lo) & (x <= hi)
    y = a.runs["pak_mines"].to_numpy() > 0.5
    assert y[inside].mean() > y[~inside].mean()
    assert box.density == pytest.approx(y[inside].mean()) and box.density > res.base_density
    assert box.coverage >= 0.5


def test_command_line_analyze(sweeps, capsys):
    assert main(["analyze", str(sweeps["morris"]), "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "pak_mw" in out and "mu_star" in out and "report.md" in out
    # an outcome given on the command line replaces the spec's
    assert main(["analyze", str(sweeps["morris"]), "--no-figures", "--outcome", "peak=max(hashrate_ehs@PAK)"]) == 0
    out = capsys.readouterr().out
    assert "peak" in out and "pak_mw" not in out
    # a mistake: one message, exit 2
    assert main(["analyze", str(sweeps["morris"]), "--outcome", "x=max(adoption_rate@PAK)"]) == 2
    assert "not kept by this sweep" in capsys.readouterr().err


def test_analysis_falls_back_to_the_manifest_copy(sweeps, tmp_path):
    import shutil
    spec = Path(sweeps["morris"]).parent / "morris.toml"
    moved = tmp_path / "morris.toml"
    shutil.move(spec, moved)
    try:
        a = analyze(sweeps["morris"], write=False)
        assert "manifest.json" in a.notes[0]
        assert set(a.outcomes) == {"pak_mw", "pak_ehs", "pak_mines", "mdv_moves"}
    finally:
        shutil.move(moved, spec)
