"""The command line: ``crypto-abm run SCENARIO [options]`` (also ``python -m experiments``).

A user mistake (bad scenario, bad override, bad date) prints one clear message naming
the file, field and value, and exits with status 2; no traceback, no partial output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from model.errors import ScenarioError

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
    calibrate.add_argument("target", choices=["mining", "households"],
                           help="mining: the miners' response, fitted to the 2019-2024 hashrate history; "
                                "households: the adoption rule, fitted to measured ownership across countries, "
                                "and El Salvador's 2021 wallet bonus")
    calibrate.add_argument("--evaluations", type=_positive,
                           help="model runs the search may use (mining, default 60) or search steps for El "
                                "Salvador's bonus (households, default 40)")
    validate = sub.add_parser("validate", help="run the backtests against data and write docs/VALIDATION.md")
    validate.add_argument("--seeds", type=_positive, default=5, help="seeds for the model band (default 5)")
    results = sub.add_parser("results", help="summarise a sweep folder, or query its runs with SQL")
    results.add_argument("folder", type=Path, help="a sweep folder (the --out of crypto-abm sweep)")
    results.add_argument("--sql", help='DuckDB SQL over the views runs and design, e.g. "SELECT count(*) FROM runs"')
    results.add_argument("--country", default="WORLD", help="country of the summary (default WORLD)")
    results.add_argument("--csv", action="store_true", help="print --sql results as CSV")
    from experiments.sweep.cli_args import add_analyze_arguments, add_study_arguments
    add_analyze_arguments(sub.add_parser("analyze", help="outcomes, sensitivity indices, fan charts and PRIM "
                                                          "for a sweep folder (writes DIR/analysis/)"))
    add_study_arguments(sub.add_parser("study", help="run a research study (a sweep plus its analysis)"))
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
            from model.scenario import available_scenarios
            print("\n".join(available_scenarios()))
            return 0
        if args.command == "sweep":
            from experiments.sweep.runner import main_sweep
            return main_sweep(args, argv)
        if args.command == "calibrate":
            if args.target == "households":
                from experiments.calibrate_households import SLV_EVALUATIONS, main as households_main
                return households_main(args.evaluations or SLV_EVALUATIONS)
            from experiments.calibrate import main as calibrate_main
            return calibrate_main(args.evaluations or 60)
        if args.command == "validate":
            from experiments.validate import main as validate_main
            return validate_main(args.seeds)
        if args.command == "results":
            from experiments.sweep.results import main_results
            return main_results(args)
        if args.command == "analyze":
            from experiments.sweep.analyze import main_analyze
            return main_analyze(args)
        if args.command == "study":
            from experiments.studies import main_study
            return main_study(args)
        if args.command == "dashboard":
            return _dashboard(args)
        return _run(args, argv)
    except ScenarioError as err:  # includes a sweep's SpecError
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: no output written", file=sys.stderr)
        return 130


def dashboard_command(host: str, port: int) -> list[str]:
    """Solara serving the dashboard (viz/app.py, by module name, so it is found in a checkout
    and in an installed copy alike), as `make dashboard` runs it."""
    return [sys.executable, "-m", "solara", "run", "viz.app", "--host", host, "--port", str(port),
            "--production", "--no-open", "--no-check-version"]


def _dashboard(args: argparse.Namespace) -> int:
    """This process becomes Solara's server (so Ctrl-C and a kill reach the server itself)."""
    import os
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"crypto-abm dashboard: http://{shown}:{args.port}/  (Ctrl-C stops it)", flush=True)
    os.execve(sys.executable, dashboard_command(args.host, args.port),
              {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"})
    return 0  # not reached: execve does not return


def _run(args: argparse.Namespace, argv: list[str] | None) -> int:
    from experiments.outdir import run_out
    from experiments.outputs import format_summary, summary_table, write_run
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
