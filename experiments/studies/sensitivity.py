"""Study 5, sensitivity: which parameters drive the headline outputs? Morris, then Sobol.

Stage 1, **Morris screening** of every numeric parameter of
``experiments/scenarios/parts/behaviour.toml`` (mining behaviour, policy diffusion,
households, remittance rails; the three fitted mining values included), the market
(fees, difficulty lag, volume elasticity, price drift and volatility), the frontier ASIC
efficiency and Pakistan's allocation (tariff, MW). The list is read from the file at run
time, so a parameter added there is screened too. Each ranges over [0.5x, 1.5x] its
baseline value, clipped to the field's valid range, except where a reason says otherwise
(``OVERRIDES``: shares that must sum to at most 1, whole numbers, additive ranges around zero
or negative values); a baseline a calibration set to 0 ranges from 0 to 1.5x the behaviour
file's prior.

Stage 2, **Sobol** on the most influential (the largest normalised mu* over the headline
outputs): the top ``individual`` parameters each on their own; the next ``tier`` in
groups by model section (SALib groups: one index per group); and every remaining
parameter in one "screened out" group, which tests the screening: its total index should
be small. All parameters still vary over their ranges in stage 2 (a grouped parameter
moves with its group).

Run budget (runs of 2025-2030 at 5,000 household agents, 2 workers): stage 1
``trajectories`` x (D + 1) points x 2 replicates, stage 2 N x (G + 2) points x 2
replicates (G groups). Full: 8 trajectories and N = 32; with the 61 parameters of
2026-12 that is 992 + 896 = 1,888 runs, measured at 8.2 minutes wall on this machine's 2
cores with nothing else running (about 0.26 s of wall time per run; 43 minutes in 2026-11,
before the speed work of issue 13). ``--quick``: 2
trajectories, one replicate, to the end of 2025, 1,800 households, then N = 4 on 3
parameters: ~150 short runs, a minute or two.

    crypto-abm study sensitivity [--quick]          python -m experiments study sensitivity [--quick]
"""

from __future__ import annotations

import datetime as dt
import tomllib
import typing
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd
from pydantic import BaseModel

from experiments.analysis.report import md_table
from experiments.studies.common import Study, study_dir
from model.config import ScenarioConfig
from model.scenario import SCENARIO_DIR, load_scenario

matplotlib.use("Agg")  # files only, no display; before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

NAME = "sensitivity"
BEHAVIOUR = SCENARIO_DIR / "parts" / "behaviour.toml"
SCENARIO = "pak_allocation_approved"  # the allocation in force: its tariff and MW are among the parameters
#: Beyond behaviour.toml: the market, the frontier machine, Pakistan's allocation.
EXTRA = ("mining.frontier_efficiency_j_per_th", "market.fees_btc_per_block", "market.difficulty_lag_steps",
         "volume.price_elasticity", "market.price.drift_per_year", "market.price.volatility_per_year",
         "shocks.pak_allocation.tariff_usd_per_kwh", "shocks.pak_allocation.mw")
#: Ranges with a reason (everything else: [0.5x, 1.5x] the baseline, clipped to the valid range).
OVERRIDES: dict[str, tuple] = {
    "mining.relocate_share": (0.3, 0.6, "with underground_share <= 0.3 the two stay <= 1 (a cross-field rule)"),
    "mining.underground_share": (0.1, 0.3, "see relocate_share"),
    "mining.lead_time_weeks": (2, 26, "from a fortnight to the behaviour file's prior of 26 weeks"),
    "mining.frontier_efficiency_j_per_th": ("scale", 0.8, 1.2, "+-20%: no ASIC much below ~11 J/TH shipped by 2025"),
    "market.price.drift_per_year": ("add", 0.2, "+-20% a year around the baseline"),
    "market.difficulty_lag_steps": (1, 3, "whole weeks; two is the protocol's retarget (docs/ODD.md 7.6)"),
    "remittances.intercept": ("add", 1.0, "+-1 in log-odds around the derived value"),
    "policy.max_diffusion_stance": (2, 4, "whole stance levels around 3"),
    "shocks.pak_allocation.tariff_usd_per_kwh": (0.04, 0.12, "half to 1.5x the proposed $0.08/kWh"),
    "shocks.pak_allocation.mw": (1000, 3000, "half to 1.5x the announced 2,000 MW"),
}
OUTCOMES = {
    "pak_share_end": "last(hashrate_share@PAK)",
    "network_ehs_end": "last(hashrate_ehs@WORLD)",
    "region_volume": "sum(trading_volume_usd@region)",
    "region_adoption_end": "last(adoption_rate@WORLD)",
    "region_stance_end": "last(stance@WORLD)",
    "bgd_first_move": "first_change(stance@BGD)",
}
SIZES = {
    False: {"trajectories": 8, "levels": 4, "replicates": 2, "households": 5000, "until": None,
            "samples": 32, "individual": 6, "tier": 12},
    True: {"trajectories": 2, "levels": 4, "replicates": 1, "households": 1800, "until": "2025-12-31",
           "samples": 4, "individual": 3, "tier": 0},
}
SEED = 20251231


@dataclass
class Range:
    path: str
    baseline: float
    low: float
    high: float
    integer: bool
    why: str


# =============================================================================== parameters
def behaviour_paths(file=BEHAVIOUR) -> list[str]:
    """Every numeric leaf of behaviour.toml as a dotted path (``{ value = ... }`` counts as its value)."""
    raw = tomllib.loads(file.read_text())
    out: list[str] = []

    def walk(node, prefix):
        for key, item in node.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(item, dict) and "value" in item:
                item = item["value"]
            if isinstance(item, dict):
                walk(item, path)
            elif isinstance(item, (int, float)) and not isinstance(item, bool):
                out.append(path)

    walk(raw, "")
    return out


def behaviour_values(file=BEHAVIOUR) -> dict[str, float]:
    """The values written in behaviour.toml (before calibrations override some)."""
    raw = tomllib.loads(file.read_text())
    out = {}
    for path in behaviour_paths(file):
        node = raw
        for part in path.split("."):
            node = node[part]
        out[path] = float(node["value"] if isinstance(node, dict) else node)
    return out


def parameter_ranges(scenario: str = SCENARIO) -> list[Range]:
    cfg = load_scenario(scenario).config
    priors = behaviour_values()
    ranges = []
    for path in list(dict.fromkeys(behaviour_paths() + list(EXTRA))):
        base = _value(cfg, path)
        is_int, lo_bound, hi_bound = _field_info(path)
        if path in OVERRIDES:
            o = OVERRIDES[path]
            if o[0] == "add":
                lo, hi, why = base - o[1], base + o[1], o[2]
            elif o[0] == "scale":
                lo, hi, why = sorted((base * o[1], base * o[2])) + [o[3]]
            else:
                lo, hi, why = o
            if not lo <= base <= hi:  # the baseline moved (a new calibration): widen to include it
                lo, hi, why = min(lo, base), max(hi, base), why + f"; widened to include the baseline {base:g}"
        elif base == 0:  # e.g. a weight a calibration set to 0: from 0 to 1.5x the behaviour file's prior
            prior = priors.get(path, 0.0)
            if prior:
                lo, hi = sorted((0.0, 1.5 * prior))
                why = f"baseline 0 (calibrated): 0 to 1.5x the behaviour file's prior {prior:g}"
            else:
                lo, hi = (0.0, 1.0) if lo_bound is not None and lo_bound >= 0 else (-1.0, 1.0)
                why = "baseline 0 and no prior: a unit range (no reason known; add one to OVERRIDES)"
        else:
            lo, hi = sorted((base * 0.5, base * 1.5))
            why = "0.5x-1.5x the baseline"
            if lo_bound is not None and lo < lo_bound:
                lo, why = lo_bound, why + f", clipped at {lo_bound:g}"
            if hi_bound is not None and hi > hi_bound:
                hi, why = hi_bound, why + f", clipped at {hi_bound:g}"
        if is_int:
            lo, hi = int(np.floor(lo)), int(np.ceil(hi))
            if lo_bound is not None:
                lo = max(lo, int(np.ceil(lo_bound)))
            if hi <= lo:
                hi = lo + 1
        ranges.append(Range(path, float(base), lo, hi, is_int, why))
    return ranges


def _value(cfg, path: str):
    node = cfg
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def _field_info(path: str) -> tuple[bool, float | None, float | None]:
    """Whole number?, lower bound, upper bound of a scenario field, from the pydantic schema."""
    if path.startswith("shocks."):
        return path.endswith(("_weeks",)), 0.0, None
    model: typing.Any = ScenarioConfig
    field = None
    for part in path.split("."):
        if model is None:
            return False, None, None
        field = model.model_fields.get(part)
        if field is None:
            return False, None, None
        ann = field.annotation
        model = None
        for cand in (ann, *typing.get_args(ann)):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                model = cand
    lo = hi = None
    for m in field.metadata:
        if hasattr(m, "ge"):
            lo = float(m.ge)
        if hasattr(m, "gt"):
            lo = float(m.gt) + 1e-9
        if hasattr(m, "le"):
            hi = float(m.le)
        if hasattr(m, "lt"):
            hi = float(m.lt) - 1e-9
    ann = field.annotation
    is_int = ann is int or int in typing.get_args(ann)
    return is_int, lo, hi


def _parameters_table(ranges: list[Range], groups: dict[str, str] | None = None) -> dict:
    table = {}
    for r in ranges:
        t: dict = {"low": r.low, "high": r.high}
        if r.integer:
            t["integer"] = True
        if groups is not None:
            t["group"] = groups[r.path]
        table[r.path] = t
    return table


def spec_dict(ranges: list[Range], sizes: dict, design: dict, groups: dict[str, str] | None = None,
              description: str = "") -> dict:
    raw = {"description": description, "scenario": SCENARIO, "seed": SEED, "replicates": sizes["replicates"],
           "households": sizes["households"], "design": design,
           "parameters": _parameters_table(ranges, groups),
           "output": {"metrics": ["hashrate_ehs", "hashrate_share", "trading_volume_usd", "adoption_rate", "stance"],
                      "countries": "all", "every": 4},
           "analysis": {"outcomes": dict(OUTCOMES), "fan": ["hashrate_share@PAK", "trading_volume_usd@region"]}}
    if sizes["until"]:
        raw["until"] = dt.date.fromisoformat(sizes["until"])
    return raw


# =============================================================================== the study
def run(quick: bool = False, out=None, workers: int | None = None, progress: bool = True) -> Study:
    study = Study(NAME, quick, study_dir(NAME, quick, out), workers=workers, progress=progress)
    sizes = SIZES[quick]
    ranges = parameter_ranges()
    by_path = {r.path: r for r in ranges}

    # ---- stage 1: Morris over everything
    morris_spec = study.write_spec(
        spec_dict(ranges, sizes, {"kind": "morris", "trajectories": sizes["trajectories"], "levels": sizes["levels"]},
                  description=f"Morris screening of {len(ranges)} parameters (behaviour.toml, market, ASIC, "
                              "PAK allocation)"),
        label="morris", header="generated by experiments/studies/sensitivity.py from parts/behaviour.toml")
    study.sweep(morris_spec, "morris")
    am = study.analyze("morris")
    if am.indices.empty:
        raise RuntimeError("Morris stage gave no indices (see the morris sweep's analysis notes)")
    score = (am.indices.pivot(index="parameter", columns="outcome", values="mu_star_norm").fillna(0.0))
    ranking = score.max(axis=1).sort_values(ascending=False)
    study.numbers["morris_ranking"] = ranking.to_dict()

    # ---- stage 2: Sobol on the top ones, the next tier grouped by section, the rest as one group
    top = list(ranking.index[:sizes["individual"]])
    tier = list(ranking.index[sizes["individual"]:sizes["individual"] + sizes["tier"]])
    groups: dict[str, str] = {}
    for p in top:
        groups[p] = p
    sections: dict[str, list[str]] = {}
    for p in tier:
        sections.setdefault(_section(p), []).append(p)
    for sec, members in sections.items():
        for p in members:
            groups[p] = p if len(members) == 1 else f"[{sec}: {len(members)} parameters]"
    rest = [r.path for r in ranges if r.path not in groups]
    for p in rest:
        groups[p] = f"[screened out: {len(rest)} parameters]"
    n_groups = len(set(groups.values()))
    sobol_spec = study.write_spec(
        spec_dict([by_path[p] for p in groups], sizes,
                  {"kind": "sobol", "samples": sizes["samples"], "calc_second_order": False}, groups,
                  description=f"Sobol on the top {len(top)} parameters of the Morris screening, the next "
                              f"{len(tier)} grouped by section, the rest in one group ({n_groups} groups)"),
        label="sobol", header="generated from the Morris ranking of the same study")
    study.sweep(sobol_spec, "sobol")
    aso = study.analyze("sobol")

    # ---- report
    group_members = pd.Series(groups).groupby(lambda p: groups[p]).apply(lambda s: list(s.index))
    morris_tbl = _morris_table(am, ranking, by_path)
    sobol_tbl = _sobol_table(aso)
    _ranking_figure(study, score.loc[ranking.index], "morris_ranking.png")
    if not aso.indices.empty:
        _sobol_figure(study, aso)
    screened = aso.indices[aso.indices["parameter"].str.startswith("[screened out")] if not aso.indices.empty \
        else pd.DataFrame()
    study.numbers.update({
        "parameters": len(ranges), "top": top, "tier_groups": {k: v for k, v in sections.items()},
        "sobol_groups": n_groups, "runs": dict(study.runs),
        "sobol": aso.indices.to_dict("records") if not aso.indices.empty else [],
        "noise_morris": am.noise.to_dict("records"), "noise_sobol": aso.noise.to_dict("records"),
    })
    summary = [f"Morris over {len(ranges)} parameters ({study.runs['morris']} runs): top "
               + ", ".join(f"{p} ({ranking[p]:.2f})" for p in top[:5])]
    if not screened.empty:
        summary.append("Sobol ST of the screened-out group: " + ", ".join(
            f"{r.outcome} {r.ST:.3f}±{r.ST_conf:.3f}" for r in screened.itertuples()))
    study.numbers["_summary"] = summary
    ranges_tbl = pd.DataFrame([{"parameter": r.path, "baseline": r.baseline, "low": r.low, "high": r.high,
                                "whole number": r.integer, "range": r.why} for r in ranges])
    question = (
        "Which of the model's parameters move the headline outputs, and by how much? Outcomes: "
        + ", ".join(f"`{k}` = `{v}`" for k, v in OUTCOMES.items()) + " (`_end`: at the last step; region = "
        "the countries with households; WORLD adoption and stance are population-weighted over them).")
    body = ["## Stage 1: Morris screening of every parameter", "",
            f"{len(ranges)} parameters, {sizes['trajectories']} trajectories of {len(ranges) + 1} points, "
            f"{sizes['levels']} levels, {sizes['replicates']} replicate(s) per point. Score = the largest "
            "normalised mu* (mu* / the largest mu* of that outcome) over the outcomes; per-outcome mu* with "
            "bootstrap 95% intervals and the per-replicate spread are in "
            "[morris/analysis/report.md](morris/analysis/report.md).", "",
            md_table(morris_tbl.head(25), ".3g"), "",
            f"({len(morris_tbl) - 25} more in `numbers.json`.)" if len(morris_tbl) > 25 else "", "",
            "![Morris ranking](morris_ranking.png)", "",
            "## Stage 2: Sobol on the most influential", "",
            f"{len(top)} parameters on their own, the next {len(tier)} grouped by model section, the remaining "
            f"{len(rest)} in one group ({n_groups} SALib groups); N = {sizes['samples']}, "
            f"{sizes['replicates']} replicate(s) per point; S1 and ST on replicate means with bootstrap 95% "
            "intervals (half-widths), `ST_rep_*` the spread of ST computed from single replicates. The "
            "screened-out group's ST checks the screening.", "",
            md_table(sobol_tbl, ".3g"), "",
            _groups_text(group_members), "",
            "![Sobol indices](sobol_indices.png)", "",
            "## Replicate noise", "",
            "Within-point (seed) variance as a share of all variance (`noise_share`) and of the variance of "
            "replicate means (`noise_share_of_means`):", "",
            md_table(pd.concat([am.noise.assign(stage="morris"), aso.noise.assign(stage="sobol")])
                     [["stage", "outcome", "replicates", "noise_share", "noise_share_of_means"]], ".3g"), "",
            "## Parameter ranges", "", md_table(ranges_tbl, ".4g"), "",
            "In short: " + "; ".join(summary) + ".", ""]
    study.write_report("Global sensitivity of the headline outputs: Morris screening, then Sobol", question, body,
                       f"{sizes['households']:,} household agents: household parameters act through adoption "
                       "shares, and the agent count sets their noise, not their level.")
    return study


def _groups_text(group_members) -> str:
    named = [f"`{g}` = {', '.join(m)}" for g, m in group_members.items()
             if len(m) > 1 and not g.startswith("[screened")]
    return ("Groups: " + "; ".join(named) + ".") if named else "No section group has more than one parameter."


def _section(path: str) -> str:
    first = path.split(".")[0]
    if first == "households" and ".graph." in path:
        return "social graph"
    if first == "households" and ".stance_multiplier." in path:
        return "household stance multipliers"
    return {"shocks": "PAK allocation", "remittances": "remittance rails"}.get(first, first)


def _morris_table(am, ranking: pd.Series, by_path: dict[str, Range]) -> pd.DataFrame:
    mu = am.indices.pivot(index="parameter", columns="outcome", values="mu_star_norm")
    out = pd.DataFrame({"parameter": ranking.index, "score": ranking.to_numpy()})
    for c in mu.columns:
        out[f"{c}"] = mu.loc[ranking.index, c].to_numpy()
    return out


def _sobol_table(aso) -> pd.DataFrame:
    if aso.indices.empty:
        return pd.DataFrame()
    d = aso.indices
    st = d.pivot(index="parameter", columns="outcome", values="ST")
    conf = d.pivot(index="parameter", columns="outcome", values="ST_conf")
    order = st.max(axis=1).sort_values(ascending=False).index
    out = pd.DataFrame({"group or parameter": order})
    for c in st.columns:
        out[f"{c} ST"] = [f"{st.at[p, c]:.3f} ± {conf.at[p, c]:.3f}" for p in order]
    return out


def _ranking_figure(study: Study, score: pd.DataFrame, name: str) -> None:
    top = score.head(30)
    fig, ax = plt.subplots(figsize=(10, 0.28 * len(top) + 1.5))
    im = ax.imshow(top.to_numpy(dtype=float), cmap="viridis", aspect="auto", vmin=0, vmax=1)
    ax.set_yticks(range(len(top)), top.index, fontsize=7)
    ax.set_xticks(range(len(top.columns)), top.columns, rotation=30, ha="right", fontsize=8)
    ax.set_title(f"Morris mu* / largest mu* per outcome (top {len(top)} of {len(score)} parameters)", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.7)
    study.figure(fig, name)


def _sobol_figure(study: Study, aso) -> None:
    d = aso.indices
    outcomes = list(dict.fromkeys(d["outcome"]))
    order = d.groupby("parameter")["ST"].max().sort_values().index
    fig, axes = plt.subplots(1, len(outcomes), figsize=(3.2 * len(outcomes), 0.32 * len(order) + 1.6), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, o in zip(axes, outcomes):
        s = d[d["outcome"] == o].set_index("parameter").reindex(order)
        y = np.arange(len(order))
        ax.barh(y + 0.2, s["ST"], height=0.4, xerr=s["ST_conf"], color="C0", capsize=2, label="ST")
        ax.barh(y - 0.2, s["S1"], height=0.4, xerr=s["S1_conf"], color="C1", capsize=2, label="S1")
        ax.set_title(o, fontsize=8)
        ax.axvline(0, color="grey", lw=0.5)
        ax.tick_params(labelsize=7)
    axes[0].set_yticks(np.arange(len(order)), [p if len(p) < 45 else "..." + p[-42:] for p in order], fontsize=7)
    axes[0].legend(fontsize=7)
    study.figure(fig, "sobol_indices.png")

