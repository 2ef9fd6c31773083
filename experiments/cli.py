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


def _households(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crypto-abm", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and write its outputs")
    run.add_argument("scenario", help="a name in experiments/scenarios/ or a path to a .toml file")
    run.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    run.add_argument("--until", type=_date, help="stop at this date (YYYY-MM-DD); default: the scenario's end")
    run.add_argument("--households", type=_households, help="household agents in total (default: the scenario's)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                     help="override a scenario parameter by dotted path, e.g. "
                          "countries.PAK.mining_tariff_usd_per_kwh=0.1 (repeatable)")
    run.add_argument("--out", type=Path, help="output folder (default: runs/<scenario>_seed<seed>)")
    run.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    sub.add_parser("scenarios", help="list the scenarios in experiments/scenarios/")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "scenarios":
            from model.scenario import available_scenarios
            print("\n".join(available_scenarios()))
            return 0
        return _run(args, argv)
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: no output written", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace, argv: list[str] | None) -> int:
    from experiments.outputs import format_summary, summary_table, write_run
    from model.model import CryptoAdoptionModel

    started = time.perf_counter()
    model = CryptoAdoptionModel(scenario_name=args.scenario, seed=args.seed, households=args.households,
                                overrides=args.overrides)
    if args.until is not None and not (model.dates[0] <= args.until):
        raise ScenarioError.one(str(model.spec.file), "--until",
                                f"before the run starts ({model.dates[0]})", str(args.until))
    model.run(until=args.until, progress=not args.quiet and sys.stderr.isatty())
    out = args.out or Path("runs") / f"{model.config.name}_seed{args.seed}"
    written = write_run(model, out, figures=not args.no_figures,
                        argv=["crypto-abm"] + (argv if argv is not None else sys.argv[1:]))
    if not args.quiet:
        print(f"{model.config.name}: {model.dates[0]} to {model.date}, seed {args.seed}, "
              f"{model.config.run.households} household agents, {time.perf_counter() - started:.1f} s")
        print(format_summary(summary_table(model)))
        print(f"\nwrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
