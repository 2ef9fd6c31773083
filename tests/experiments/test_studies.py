"""The six research studies, each in its ``--quick`` variant, end to end.

About 10-15 s each on 2 free cores (the sensitivity one ~40 s, marked slow).

A quick variant is small (a handful of runs, the minimum household count), so it checks
the machinery (spec, sweep, analysis, figures, report), not the conclusions. Each writes
a folder with its spec, its sweep, ``report.md``, figures and ``numbers.json``.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import pytest

import experiments.studies as studies_package
from experiments.cli import main, parser
from experiments.studies import STUDIES


def _check_folder(out: Path, name: str, figures: list[str]) -> dict:
    report = (out / "report.md").read_text()
    assert report.startswith("# ") and "quick variant" in report and "## Reproduce" in report
    assert f"crypto-abm sweep {out}" in report
    for f in figures:
        assert (out / f).is_file() and (out / f).read_bytes()[:4] == b"\x89PNG", f
    numbers = json.loads((out / "numbers.json").read_text())
    assert numbers["_meta"]["quick"] is True and numbers["_summary"]
    for sweep in numbers["_meta"]["sweeps"].values():
        manifest = json.loads((Path(sweep) / "manifest.json").read_text())
        assert manifest["spec_sha256"] in numbers["_meta"]["spec_sha256"].values()
        assert (Path(sweep) / "analysis" / "report.md").is_file()
    assert (out / f"{name}.toml").is_file() or any(out.glob(f"{name}_*.toml"))
    return numbers


def test_every_study_is_registered_and_runnable_from_the_command_line(capsys):
    """Each module in experiments/studies/ is a study the command line offers (and nothing else
    is): registered in STUDIES, with NAME and run(quick, out, workers, progress)."""
    folder = Path(studies_package.__file__).parent
    modules = {p.stem for p in folder.glob("*.py")} - {"__init__", "common"}
    assert modules == set(STUDIES)
    for name in modules:
        module = importlib.import_module(f"experiments.studies.{name}")
        assert module.NAME == name
        assert list(inspect.signature(module.run).parameters) == ["quick", "out", "workers", "progress"]
        args = parser().parse_args(["study", name, "--quick"])
        assert (args.name, args.quick) == (name, True)
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(["study", "no_such_study"])
    assert exit_.value.code == 2 and "invalid choice: 'no_such_study'" in capsys.readouterr().err


def test_pak_package_quick(tmp_path):
    from experiments.studies import pak_package
    study = pak_package.run(quick=True, out=tmp_path / "s", workers=2, progress=False)
    numbers = _check_folder(study.out, "pak_package", ["fan_with_without.png", "paired_differences.png"])
    paired = numbers["paired"]
    assert {"pak_share_2030", "region_volume"} <= set(paired)
    for r in paired.values():
        assert r["n"] == 4 and r["ci_low"] <= r["diff"] <= r["ci_high"]
    # without the package Pakistan has no allocation, hence no hashrate
    assert paired["pak_share_2030"]["mean_off"] == 0


def test_contagion_quick(tmp_path):
    from experiments.studies import contagion
    study = contagion.run(quick=True, out=tmp_path / "s", workers=2, progress=False)
    numbers = _check_folder(study.out, "contagion", ["cumulative_change.png", "first_change_dates.png"])
    for c in ("BGD", "LKA", "AFG", "NPL"):
        for arm in ("with package", "without"):
            r = numbers["countries"][c][arm]
            assert r["n"] == 4 and 0 <= r["ci"][0] <= r["p_change"] <= r["ci"][1] <= 1
        assert -1 <= numbers["countries"][c]["package_effect"]["diff"] <= 1


def test_tariff_price_quick_and_its_rerun_resumes(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["study", "tariff_price", "--quick", "--out", str(out), "--workers", "2", "--quiet"]) == 0
    assert "tariff_price: wrote" in capsys.readouterr().out
    numbers = _check_folder(out, "tariff_price", ["tariff_price_heatmaps.png", "peak_mw_by_tariff.png"])
    grid = numbers["grids"]["pak_mw_peak"]
    assert set(grid) == {"0.04", "0.08"} and set(grid["0.04"]) == {"60000", "120000"}
    # a cheaper tariff never fills less (same seeds, same price)
    for price in ("60000", "120000"):
        assert grid["0.04"][price] >= grid["0.08"][price]
    runs = sorted(p.name for p in (out / "sweep" / "runs").iterdir())
    assert len(runs) == 8
    # rerunning resumes: no run is repeated, the report is rewritten
    assert main(["study", "tariff_price", "--quick", "--out", str(out), "--workers", "2", "--quiet"]) == 0
    assert sorted(p.name for p in (out / "sweep" / "runs").iterdir()) == runs
    manifest = json.loads((out / "sweep" / "manifest.json").read_text())
    assert manifest["sessions"][-1]["ran"] == 0


def test_halving_2028_quick(tmp_path):
    from experiments.studies import halving_2028
    study = halving_2028.run(quick=True, out=tmp_path / "s", workers=2, progress=False)
    numbers = _check_folder(study.out, "halving_2028", ["fan_with_without.png", "halving_ratio.png"])
    for key in ("network", "region"):
        effect = numbers["measures"][key]["effect"]
        assert effect["pairs"] == 4
        assert 0 < effect["+12 mo: median"] <= 1.05  # a halving does not raise hashrate


def test_ai_demand_quick(tmp_path, capsys):
    from experiments.sweep.results import query
    out = tmp_path / "s"
    assert main(["study", "ai_demand", "--quick", "--out", str(out), "--workers", "2", "--quiet"]) == 0
    assert "ai_demand: wrote" in capsys.readouterr().out
    numbers = _check_folder(out, "ai_demand", ["ai_demand_heatmaps.png", "mining_mw_by_ai_load.png",
                                               "mw_over_time.png"])
    grids = numbers["grids"]
    assert set(grids["pak_mw_mean"]) == {"0.03", "0.08"} and set(grids["pak_mw_mean"]["0.03"]) == {"0", "1500"}
    for tariff in ("0.03", "0.08"):
        assert grids["pak_ai_mw_mean"][tariff]["0"] == 0          # no AI load, no AI served
        assert 0 < grids["pak_ai_mw_mean"][tariff]["1500"] <= 1500
        assert grids["power_sales_usd_m"][tariff]["1500"] > 0
    # at $0.03 mining uses much of the allocation without AI, and AI crowds it out (paired, same seeds)
    assert grids["pak_mw_mean"]["0.03"]["0"] > 500
    crowd = numbers["paired"]["0.03"]["1500"]["pak_mw_mean"]
    assert crowd["n"] == 2 and crowd["diff"] < 0 and crowd["ci_low"] <= crowd["diff"] <= crowd["ci_high"]
    # mining and AI together never exceed the 2,000 MW allocation, in any week of any run
    peak = query(out / "sweep", "SELECT max(v) AS v FROM (SELECT sum(value) AS v FROM runs WHERE country = 'PAK' "
                                "AND metric IN ('mining_power_mw', 'ai_power_mw') GROUP BY run_id, step)")
    assert 1000 < peak["v"].iloc[0] <= 2000 + 1e-6
    report = (out / "report.md").read_text()
    assert "State's power sales under the allocation" in report and "no tax" in report
    assert "| $0.03 | 1,500 |" in report  # the paired crowd-out table


@pytest.mark.slow
def test_sensitivity_quick(tmp_path):
    from experiments.studies import sensitivity
    study = sensitivity.run(quick=True, out=tmp_path / "s", workers=2, progress=False)
    numbers = _check_folder(study.out, "sensitivity", ["morris_ranking.png"])
    assert numbers["parameters"] >= 50  # every numeric parameter of behaviour.toml, the market, the allocation
    assert len(numbers["morris_ranking"]) == numbers["parameters"]
    assert len(numbers["top"]) == 3 and numbers["sobol_groups"] == 4  # 3 on their own + the screened-out group
    assert any(str(r["parameter"]).startswith("[screened out") for r in numbers["sobol"])


def test_parameter_list_follows_behaviour_toml():
    from experiments.studies.sensitivity import behaviour_paths, parameter_ranges
    paths = behaviour_paths()
    ranges = {r.path: r for r in parameter_ranges()}
    assert set(paths) <= set(ranges)
    assert "shocks.pak_allocation.tariff_usd_per_kwh" in ranges and "market.price.volatility_per_year" in ranges
    for r in ranges.values():
        assert r.low < r.high and r.low <= r.baseline <= r.high, r
    assert ranges["mining.relocate_share"].high + ranges["mining.underground_share"].high <= 1.0
