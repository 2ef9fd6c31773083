"""The command line: ``crypto-abm run SCENARIO [options]`` (also ``python -m experiments``).

This module is the only place that parses arguments: every command's options are here,
and each command's function turns them into calls of the library (:mod:`experiments.runs`,
:mod:`experiments.sweep`, :mod:`experiments.analysis`, :mod:`experiments.studies`,
:mod:`experiments.validation`). Defaults that are part of a computation live beside it
and are only shown here (e.g. :data:`experiments.sweep.outcomes.DEFAULT_RESAMPLES`).

A user mistake (bad scenario, bad override, bad date) prints one clear message naming
the file, field and value, and exits with status 2; no traceback, no partial output.

Each command imports its own stack inside its function (matplotlib, SALib, DuckDB, Dask,
the studies): importing all of them up front would add ~1.7 s to every start, including
``crypto-abm --help`` and ``crypto-abm scenarios``. These are the only function-level
imports of the command line, and each names a module of this project.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import math
import os
import sys
import time
from pathlib import Path

from experiments.studies import STUDIES
from experiments.sweep.errors import SpecError
from experiments.sweep.outcomes import DEFAULT_CONF, DEFAULT_RESAMPLES
from model.errors import ScenarioError
from model.scenario import available_scenarios

EXIT_USAGE = 2


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _whole(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}: {value}")
    return value


def _households(text: str) -> int:
    return _whole(text, 0)


def _seed(text: str) -> int:
    """A root seed: a whole number >= 0 (numpy's SeedSequence takes no negative seed)."""
    return _whole(text, 0)


def _positive(text: str) -> int:
    return _whole(text, 1)


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be <= 65535: {value}")
    return value


STUDY_FORCE_HELP = "as for run; a study's folder is resumed and nothing in it is removed, so it changes nothing"


def _level(text: str) -> float:
    """A confidence level: a finite number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (e.g. 0.95): {text}")
    return value


def _analyze_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", type=Path, help="a sweep folder (the --out of crypto-abm sweep)")
    p.add_argument("--outcome", "--outcomes", dest="outcomes", action="extend", nargs="+", metavar="NAME[=EXPR]",
                   help='outcomes, e.g. "pak_share=last(hashrate_share@PAK)", or the name of one in the spec\'s '
                        "[analysis] (default: all of those); syntax in experiments/sweeps/README.md")
    p.add_argument("--fan", action="extend", nargs="+", metavar="METRIC@COUNTRIES",
                   help='fan-chart series, e.g. "hashrate_share@PAK" (default: the spec\'s, else the outcomes\')')
    p.add_argument("--fan-by", choices=["auto", "pooled", "point"],
                   help="fan charts per design point or pooled over all runs (default auto)")
    p.add_argument("--prim", action="extend", nargs="+", metavar="NAME",
                   help="yes/no outcomes for PRIM scenario discovery (default: every yes/no outcome)")
    p.add_argument("--resamples", type=_positive,
                   help=f"bootstrap resamples of the indices (default {DEFAULT_RESAMPLES})")
    p.add_argument("--conf-level", type=_level, help=f"confidence level of the intervals (default {DEFAULT_CONF})")
    p.add_argument("--no-figures", action="store_true", help="tables and report only, no PNGs")


def _study_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", choices=list(STUDIES), help="; ".join(f"{k}: {v}" for k, v in STUDIES.items()))
    p.add_argument("--quick", action="store_true", help="a small version that runs in a minute or two")
    p.add_argument("--out", type=Path, help="output folder (default runs/studies/NAME, or NAME-quick)")
    p.add_argument("--force", action="store_true", help=STUDY_FORCE_HELP)
    p.add_argument("--workers", type=_positive, help="runs at once (default: the CPU cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


PANEL_FILES = ("events", "initial", "borders", "links", "covariates", "regions")


def _ensemble_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="a name in experiments/scenarios/ or a path to a .toml file")
    p.add_argument("--members", type=_positive, default=20, help="members (runs), at least 2 (default 20)")
    p.add_argument("--parameters", choices=["point", "fitted", "all"], default="fitted",
                   help="point: the fits' estimates; fitted: each member its own draw of every fit with a "
                        "covariance (policy, volume, mining, households) (default fitted); all: fitted, and a Latin "
                        "hypercube over every ranged assumption (range = [low, high]) of the scenario")
    p.add_argument("--price-paths", type=_positive, metavar="P",
                   help="run P price paths, each with members/P seeds, and split each headline's variance "
                        "between the price path and the rest")
    p.add_argument("--seed", type=_seed, default=0, help="root seed of the ensemble (default 0)")
    p.add_argument("--until", type=_date, help="stop at this date (YYYY-MM-DD); default: the scenario's end")
    p.add_argument("--households", type=_households, help="household agents in total (default: the scenario's)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a scenario parameter for every member (repeatable)")
    p.add_argument("--workers", type=_positive, help="runs at once (default: the CPU cores)")
    p.add_argument("--executor", choices=["process", "dask"], default="process",
                   help="process pool (default) or Dask, as for sweep")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://host:8786 (--executor dask)")
    p.add_argument("--out", type=Path, help="ensemble folder (default runs/ensembles/SCENARIO_PARAMETERS_MEMBERS); "
                                            "rerunning the same command resumes it")
    p.add_argument("--no-figures", action="store_true", help="tables and report only, no PNGs")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _panel_arguments(p: argparse.ArgumentParser) -> None:
    """The policy panel's files (formats: docs/POLICY_DATA.md); each defaults to the shipped one."""
    for name in PANEL_FILES:
        p.add_argument(f"--{name}", type=Path, metavar="FILE",
                       help=f"policy: the panel's {name} file (default: data/policy_*.csv; docs/POLICY_DATA.md)")


def _panel_files(args: argparse.Namespace):
    from experiments.validation.policy_panel import PanelFiles

    given = {name: getattr(args, name) for name in PANEL_FILES if getattr(args, name) is not None}
    return PanelFiles(**given)


def _policy_only(args: argparse.Namespace, target: str | None) -> None:
    """The panel options belong to the policy target: refuse them elsewhere rather than ignore them."""
    extra = [name for name in PANEL_FILES + ("fit", "since", "out", "force") if getattr(args, name, None)]
    if target != "policy" and extra:
        raise ScenarioError.one(args.command, f"--{extra[0]}", "belongs to the policy target (crypto-abm "
                                f"{args.command} policy ...)", str(getattr(args, extra[0])))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crypto-abm", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and write its outputs")
    run.add_argument("scenario", help="a name in experiments/scenarios/ or a path to a .toml file")
    run.add_argument("--seed", type=_seed, default=0, help="root seed, a whole number >= 0 (default 0)")
    run.add_argument("--until", type=_date, help="stop at this date (YYYY-MM-DD); default: the scenario's end")
    run.add_argument("--households", type=_households, help="household agents in total (default: the scenario's)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                     help="override a scenario parameter by dotted path, e.g. "
                          "shocks.pak_allocation.tariff_usd_per_kwh=0.1 (repeatable; a warning says when a "
                          "dated shock overwrites an overridden field)")
    run.add_argument("--out", type=Path, help="output folder (default: runs/<scenario>_seed<seed>); an existing "
                                              "one is replaced only if it is an earlier run's")
    run.add_argument("--force", action="store_true",
                     help="reuse an earlier run's --out folder that also holds other files (they are kept)")
    run.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    sub.add_parser("scenarios", help="list the scenarios in experiments/scenarios/")
    sweep = sub.add_parser("sweep", help="run a parameter sweep from a spec file (rerun to resume)")
    sweep.add_argument("spec", type=Path, help="a sweep spec (.toml); see experiments/sweeps/README.md")
    sweep.add_argument("--workers", type=_positive, help="runs at once (default: the CPU cores)")
    sweep.add_argument("--executor", choices=["process", "dask"],
                       help="process pool (default) or Dask (a local cluster unless --scheduler)")
    sweep.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://host:8786")
    sweep.add_argument("--out", type=Path, help="sweep folder (default: runs/sweeps/<spec name>)")
    sweep.add_argument("--force", action="store_true",
                       help="as for run; a sweep folder is resumed and nothing in it is removed, so it changes nothing")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    calibrate = sub.add_parser("calibrate", help="fit parameters to data and write experiments/calibration/")
    calibrate.add_argument("target", choices=["mining", "households", "policy", "volume", "nowcast"],
                           help="mining: the miners' response, fitted to the 2019-2024 hashrate history; "
                                "households: the adoption rule, fitted to measured ownership across countries, "
                                "and El Salvador's 2021 wallet bonus; policy: the stance hazards, fitted to the "
                                "global panel of stance changes 2013-2025; volume: value received on chain across "
                                "countries (income and price elasticities) and the exchange scale; nowcast: the "
                                "projection's first year, one scale on the MW a year every country can add, "
                                "fitted to 2025's network hashrate (south_asia_2025 and the scenarios built on it)")
    calibrate.add_argument("--uncertainty-only", action="store_true",
                           help="households, mining: only the covariance of the fitted values, at the values in "
                                "experiments/calibration/<target>.toml (not refitted), written beside them")
    calibrate.add_argument("--evaluations", type=_positive,
                           help="model runs the search may use (mining, default 150) or search steps for El "
                                "Salvador's bonus (households, default 40)")
    _panel_arguments(calibrate)
    calibrate.add_argument("--out", type=Path, help="policy: write the fit here (default "
                                                    "experiments/calibration/policy.toml, the shipped panel only)")
    calibrate.add_argument("--force", action="store_true",
                           help="policy: replace an existing --out file, or the shipped fit with one on another panel")
    validate = sub.add_parser("validate", help="run the backtests against data and write docs/VALIDATION.md; "
                                               "validate policy: score a panel's stance changes under a fit")
    validate.add_argument("target", nargs="?", choices=["policy"],
                          help="policy: score the transitions of a panel (--events ...) under a fit (--fit)")
    validate.add_argument("--seeds", type=_positive, default=5, help="seeds for the model band (default 5)")
    validate.add_argument("--fit", type=Path, help="policy: a calibration file of calibrate policy (default: the "
                                                   "shipped experiments/calibration/policy.toml)")
    validate.add_argument("--since", type=_positive, help="policy: score the years from this one on (default all)")
    _panel_arguments(validate)
    results = sub.add_parser("results", help="summarise a sweep folder, or query its runs with SQL")
    results.add_argument("folder", type=Path, help="a sweep folder (the --out of crypto-abm sweep)")
    results.add_argument("--sql", help='DuckDB SQL over the views runs and design, e.g. "SELECT count(*) FROM runs"')
    results.add_argument("--country", default="WORLD", help="country of the summary (default WORLD)")
    results.add_argument("--csv", action="store_true", help="print --sql results as CSV")
    _analyze_arguments(sub.add_parser("analyze", help="outcomes, sensitivity indices, fan charts and PRIM "
                                                          "for a sweep folder (writes DIR/analysis/)"))
    _study_arguments(sub.add_parser("study", help="run a research study (a sweep plus its analysis)"))
    _ensemble_arguments(sub.add_parser("ensemble", help="run a scenario many times (seeds, fitted parameters' "
                                                        "draws) and write bands and a summary (rerun to resume)"))
    dashboard = sub.add_parser("dashboard", help="serve the dashboard in the browser (works offline; Ctrl-C stops it)")
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to serve on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to "
                                "the network)")
    dashboard.add_argument("--port", type=_port, default=8765, help="port (default 8765)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "scenarios":
            print("\n".join(available_scenarios()))
            return 0
        if args.command == "sweep":
            return _sweep(args, argv)
        if args.command == "calibrate":
            return _calibrate(args)
        if args.command == "validate":
            _policy_only(args, args.target)
            if args.target == "policy":
                from experiments.validation import policy_fit
                return policy_fit.validate_main(args.fit or policy_fit.CALIBRATION_FILE, _panel_files(args),
                                                args.since)
            from experiments.validation.validate import main as validate_main
            return validate_main(args.seeds)
        if args.command == "results":
            return _results(args)
        if args.command == "analyze":
            return _analyze(args)
        if args.command == "study":
            return _study(args)
        if args.command == "dashboard":
            return _dashboard(args)
        if args.command == "ensemble":
            return _ensemble(args, argv)
        return _run(args, argv)
    except ScenarioError as err:  # includes a sweep's SpecError
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: no output written", file=sys.stderr)
        return 130


#: The dashboard server's settings: no telemetry (it works offline), no Solara banner over the charts.
DASHBOARD_ENV = {"SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "SOLARA_THEME_SHOW_BANNER": "False"}


def dashboard_command(host: str, port: int) -> list[str]:
    """Solara serving the dashboard (viz/app.py, by module name, so it is found in a checkout
    and in an installed copy alike), as `make dashboard` runs it."""
    return [sys.executable, "-m", "solara", "run", "viz.app", "--host", host, "--port", str(port),
            "--production", "--no-open", "--no-check-version"]


def _dashboard(args: argparse.Namespace) -> int:
    """This process becomes Solara's server (so Ctrl-C and a kill reach the server itself)."""
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"crypto-abm dashboard: http://{shown}:{args.port}/  (Ctrl-C stops it)", flush=True)
    os.execve(sys.executable, dashboard_command(args.host, args.port), {**os.environ, **DASHBOARD_ENV})
    return 0  # not reached: execve does not return


def _sweep(args: argparse.Namespace, argv: list[str] | None) -> int:
    """``crypto-abm sweep SPEC [--workers N] [--executor process|dask] [--scheduler ADDR] [--out DIR]``."""
    from experiments.sweep import runner
    from experiments.sweep.spec import load_spec

    spec = load_spec(args.spec)
    for text in spec.warnings:  # once, at the start; with --quiet too (a warning is not progress)
        print(f"warning: {spec.file}: {text}", file=sys.stderr)
    kind = args.executor or ("dask" if args.scheduler else "process")
    if args.scheduler and kind != "dask":
        raise SpecError.one(str(args.spec), "--scheduler", "needs --executor dask", args.scheduler)
    out = args.out or Path("runs") / "sweeps" / spec.file.stem
    argv = ["crypto-abm"] + (argv if argv is not None else sys.argv[1:])
    prep = runner.prepare(spec, out, argv=argv, label=kind)  # refuses a wrong folder before any worker starts
    try:
        return _sweep_prepared(args, spec, kind, prep)
    finally:
        prep.release()  # on success, failure, exception or Ctrl-C alike


def _sweep_prepared(args: argparse.Namespace, spec, kind: str, prep) -> int:
    from experiments.sweep import runner

    total = len(prep.design.table)
    quiet = getattr(args, "quiet", False)
    if not quiet:
        print(f"sweep {spec.file.name}: {prep.design.kind} design, {len(prep.design.points)} points x "
              f"{spec.replicates} replicates = {total} runs -> {prep.folder.root}"
              + (f" (resuming: {prep.done_before} done, {prep.failed_before} failed to retry)"
                 if prep.resumed else ""), file=sys.stderr)
    try:
        report = runner.run_prepared(prep, kind, args.workers, args.scheduler, progress=not quiet)
    except runner.SweepAborted as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        done = len(prep.folder.done_ids())
        print(f"interrupted: {done} of {total} runs done and kept in {prep.folder.root}; rerun the same "
              "command to resume", file=sys.stderr)
        return 130
    if not quiet:
        print(f"{prep.folder.root}: {report.done} of {total} runs done, {report.failed} failed "
              f"({report.ran} run now in {report.seconds:.1f} s, {report.skipped} done before)")
        for line in report.failures[:10]:
            print(f"  failed {line}")
        if report.failed:
            print(f"  failure records (parameters, traceback): {prep.folder.failed}/; rerun the same command "
                  "to retry them")
    return 0 if report.failed == 0 else 1


def _results(args: argparse.Namespace) -> int:
    """``crypto-abm results DIR [--sql "SELECT ..."] [--country WORLD] [--csv]``."""
    from experiments.sweep import results

    if args.sql:
        df = results.query(args.folder, args.sql)
        if args.csv:
            df.to_csv(sys.stdout, index=False)
        else:
            print(results.table_text(df) if len(df) else "(no rows)")
        return 0
    print(results.summary_text(args.folder, args.country))
    return 0


def _study(args: argparse.Namespace) -> int:
    """``crypto-abm study NAME [--quick] [--out DIR] [--workers N] [--quiet]``: the module
    ``experiments.studies.NAME`` runs it; print where its report is."""
    run = importlib.import_module(f"experiments.studies.{args.name}").run
    try:
        study = run(quick=args.quick, out=args.out, workers=args.workers, progress=not args.quiet)
    except KeyboardInterrupt:
        print("interrupted: finished runs are kept; rerun the same command to resume", file=sys.stderr)
        return 130
    print(f"{study.name}: wrote {study.out / 'report.md'} ({time.perf_counter() - study.started:.0f} s)")
    for line in study.numbers.get("_summary", []):
        print(f"  {line}")
    return 0


def _ensemble(args: argparse.Namespace, argv: list[str] | None) -> int:
    """``crypto-abm ensemble SCENARIO [--members N] [--parameters point|fitted|all] [--price-paths P] ...``."""
    from experiments.ensemble import EnsembleOptions, run_ensemble
    from experiments.ensemble.report import summarise
    from experiments.sweep.runner import SweepAborted
    from model.scenario import parse_overrides

    opts = EnsembleOptions(scenario=args.scenario, members=args.members, parameters=args.parameters,
                           price_paths=args.price_paths, seed=args.seed, households=args.households,
                           until=args.until, overrides=parse_overrides(args.overrides, "--set"),
                           workers=args.workers, executor=args.executor, scheduler=args.scheduler,
                           progress=not args.quiet)
    if args.scheduler and args.executor != "dask":
        raise SpecError.one("crypto-abm ensemble", "--scheduler", "needs --executor dask", args.scheduler)
    out = args.out or Path("runs") / "ensembles" / f"{Path(args.scenario).stem}_{args.parameters}_{args.members}"
    try:
        _, report = run_ensemble(opts, out, argv=["crypto-abm"] + (argv if argv is not None else sys.argv[1:]))
    except SweepAborted as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted: finished members are kept in {out}; rerun the same command to resume", file=sys.stderr)
        return 130
    if report.failed:
        print(f"warning: {report.failed} members failed (see {out}/sweep/failed/); the summary leaves them out",
              file=sys.stderr)
    tables = summarise(Path(out), figures=not args.no_figures)
    for r in tables["summary"].itertuples():
        print(f"  {r.outcome}: median {r.median:.4g}, 90% interval {r.q05:.4g} to {r.q95:.4g}")
    print(f"wrote {Path(out) / 'report.md'} ({report.done} of {report.runs} members)")
    return 0 if report.failed == 0 else 1


def _calibrate(args: argparse.Namespace) -> int:
    _policy_only(args, args.target)
    if args.uncertainty_only and (args.target not in ("households", "mining") or args.evaluations):
        raise ScenarioError.one(args.command, "--uncertainty-only", "belongs to the households and mining targets, "
                                "without --evaluations (crypto-abm calibrate mining --uncertainty-only)", args.target)
    if args.evaluations and args.target not in ("households", "mining"):
        raise ScenarioError.one(args.command, "--evaluations", "belongs to the households and mining targets",
                                args.evaluations)
    if args.target == "nowcast":
        from experiments.validation import calibrate_nowcast
        return calibrate_nowcast.main()
    if args.target == "volume":
        from experiments.validation import volume_fit
        return volume_fit.main()
    if args.target == "policy":
        from experiments.validation import policy_fit
        return policy_fit.calibrate_main(_panel_files(args), args.out, args.force)
    if args.target == "households":
        from experiments.validation import calibrate_households
        if args.uncertainty_only:
            return calibrate_households.uncertainty_main()
        return calibrate_households.main(args.evaluations or calibrate_households.SLV_EVALUATIONS)
    from experiments.validation import calibrate
    return calibrate.main(args.evaluations or calibrate.EVALUATIONS, uncertainty_only=args.uncertainty_only)


def _analyze(args: argparse.Namespace) -> int:
    """``crypto-abm analyze DIR [--outcome NAME=EXPR ...] [--fan SERIES ...] [--fan-by ...] [--no-figures]``."""
    from experiments.analysis.analyze import analyze
    from experiments.analysis.report import summary_lines

    a = analyze(args.folder, outcomes=args.outcomes, fan=args.fan, fan_by=args.fan_by,
                prim_outcomes=args.prim, resamples=args.resamples, conf_level=args.conf_level,
                figures=not args.no_figures)
    d = a.manifest["design"]
    print(f"analysis of {a.folder}: {d['kind']} design, {len(a.runs)} of {d['runs']} runs")
    print("\n".join(summary_lines(a)))
    for n in a.notes:
        print(f"note: {n}")
    print(f"\nwrote {a.out}/report.md and {len(a.files) - 1} more files")
    return 0


def _run(args: argparse.Namespace, argv: list[str] | None) -> int:
    from experiments.outdir import run_out
    from experiments.runs import format_summary, summary_table, write_run
    from model.model import CryptoAdoptionModel

    started = time.perf_counter()
    out = run_out(args.out, force=args.force) if args.out is not None else None  # before any work
    model = CryptoAdoptionModel(scenario_name=args.scenario, seed=args.seed, households=args.households,
                                overrides=args.overrides)
    if args.until is not None and not (model.dates[0] <= args.until):
        raise ScenarioError.one(str(model.spec.file), "--until",
                                f"before the run starts ({model.dates[0]})", str(args.until))
    if args.until is not None and args.until > model.dates[-1]:
        print(f"note: --until {args.until} is after the scenario's last step ({model.dates[-1]}, run.end "
              f"{model.config.run.end}): the run stops there", file=sys.stderr)
    for text in model.spec.warnings_until(args.until):  # not progress: shown with --quiet too
        print(f"warning: {text}", file=sys.stderr)
    if out is None:  # the default folder needs the scenario's name: checked before the run
        out = run_out(Path("runs") / f"{model.config.name}_seed{args.seed}", force=args.force)
    model.run(until=args.until, progress=not args.quiet and sys.stderr.isatty())
    written = write_run(model, out, figures=not args.no_figures, force=args.force,
                        argv=["crypto-abm"] + (argv if argv is not None else sys.argv[1:]))
    if not args.quiet:
        print(f"{model.config.name}: {model.dates[0]} to {model.date}, seed {args.seed}, "
              f"{model.config.run.households} household agents, {time.perf_counter() - started:.1f} s")
        print(format_summary(summary_table(model)))
        print(f"\nwrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
