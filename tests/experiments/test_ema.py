"""EMA Workbench glue (experiments/ema.py): parameters by dotted path, outcomes, seeds, PRIM.

The runs are small (1,800 households, to 2026-03-31: the price path leaves the monthly
history in 2026-01, so outcomes depend on the seed) and few: the README's example
(4 experiments x 2 replications) and a 2 x 2 design of two levers that provably act:
the allocation's tariff sets Pakistan's mining power (~1,200 MW at $0.03/kWh, none at
$0.075), and the Virtual Assets Ordinance (``shocks.pak_vao.enabled``) lets exchanges
into Pakistan, which moves its trading volume and nothing about its mining.
"""

from __future__ import annotations

import math
import pickle
import re

import numpy as np
import pandas as pd
import pytest

from model.errors import ScenarioError
from model.scenario import PROJECT_ROOT

# experiments.ema imports ema_workbench first, silencing its ipyparallel warning; the
# names below then come from the already-imported package.
from experiments.ema import ema_name, prim_inputs, replicator_model  # isort: skip
import ema_workbench as ema  # isort: skip
from ema_workbench.analysis import prim  # isort: skip

from experiments.sweep.design import replicate_seeds

# EMA 3.0.0's Prim calls DataFrame.drop(inplace=True), which pandas 3.1 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.drop")

UNTIL = "2026-03-31"
TARIFF = "shocks.pak_allocation.tariff_usd_per_kwh"
VAO = "shocks.pak_vao.enabled"


def readme_example() -> str:
    """The first ```python block of the README's "EMA Workbench" section, as written."""
    text = (PROJECT_ROOT / "README.md").read_text()
    section = text.split("\n## EMA Workbench\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def small_model(**kw) -> ema.ReplicatorModel:
    args = dict(households=1800, until=UNTIL, replications=2, seed=7,
                levers={TARIFF: (0.03, 0.08), VAO: [False, True]},
                outcomes={"pak_mw_reps": "last(mining_power_mw@PAK)",
                          "pak_volume_usd_reps": "sum(trading_volume_usd@PAK)",
                          "price_usd_reps": "last(btc_price_usd)",
                          "pak_regulated_reps": "last(stance@PAK) >= 3"})
    return replicator_model("pak_allocation_approved", **{**args, **kw})  # the tariff lever needs the allocation


def test_parameters_outcomes_and_seeds_from_dotted_paths():
    """No runs: the EMA objects the glue builds, and its checks at build time."""
    model = replicator_model(
        "south_asia_2025", households=1800, until=UNTIL, replications=3, seed=11,
        uncertainties={"market.price.volatility_per_year": (0.4, 0.9), "countries.PAK.stance": (1, 3)},
        levers={VAO: [False, True], "shocks.pak_allocation.mw": [1000, 2000, 4000]},
        outcomes={"pak_mw": "last(mining_power_mw@PAK, to=2026-01-01)",
                  "bgd": {"stat": "max", "metric": "stance", "countries": "BGD"}})
    u, lv = model.uncertainties, model.levers
    assert isinstance(u["market__price__volatility_per_year"], ema.RealParameter)
    assert isinstance(u["countries__PAK__stance"], ema.IntegerParameter)
    assert isinstance(lv["shocks__pak_vao__enabled"], ema.BooleanParameter)
    assert isinstance(lv["shocks__pak_allocation__mw"], ema.CategoricalParameter)
    assert list(lv["shocks__pak_vao__enabled"].variable_name) == [VAO]  # EMA hands the model the path
    assert all(isinstance(o, ema.ScalarOutcome) and o.function is np.mean for o in model.outcomes)
    # One seed per replication, all different, derived from the root seed as a sweep's replicates.
    seeds = [r["seed"] for r in model.replications]
    assert seeds == replicate_seeds(11, 3) and len(set(seeds)) == 3
    assert replicate_seeds(12, 3) != seeds
    pickle.dumps(model.function)  # MultiprocessingEvaluator ships it to workers
    assert ema_name("countries.PAK.mining_tariff_usd_per_kwh") == "countries__PAK__mining_tariff_usd_per_kwh"

    arrays = replicator_model("south_asia_2025", households=1800, until=UNTIL, aggregate=None,
                              outcomes={"pak_mw_each": "last(mining_power_mw@PAK)"})
    assert isinstance(arrays.outcomes["pak_mw_each"], ema.ArrayOutcome)
    # EMA ties an outcome name to one class per process: said plainly, not as EMA's riddle.
    with pytest.raises(ValueError, match="another name"):
        replicator_model(households=1800, outcomes={"pak_mw_each": "last(mining_power_mw@PAK)"})

    # Mistakes fail when the model is built, not in the middle of the experiments.
    with pytest.raises(ScenarioError, match="shocks.pak_alocation"):
        replicator_model(levers={"shocks.pak_alocation.mw": (1000.0, 3000.0)},
                         outcomes={"x": "last(stance@PAK)"}, households=1800)
    with pytest.raises(ScenarioError, match="mining.relocate_share"):
        replicator_model(uncertainties={"mining.relocate_share": (0.5, 1.5)},
                         outcomes={"x": "last(stance@PAK)"}, households=1800)
    with pytest.raises(ValueError, match="unknown metric"):
        replicator_model(outcomes={"x": "last(hashrate@PAK)"}, households=1800)
    with pytest.raises(ValueError, match="identifier"):
        replicator_model(outcomes={"pak-mw": "last(mining_power_mw@PAK)"}, households=1800)
    with pytest.raises(ValueError, match="range"):
        replicator_model(levers={TARIFF: (0.08, float("nan"))}, outcomes={"x": "last(stance@PAK)"})


@pytest.mark.slow
def test_levers_move_outcomes_replications_differ_and_root_seed_reproduces():
    model = small_model(aggregate=None)  # ArrayOutcome: one value per replication
    policies = [ema.Sample(name=f"t{t}_vao{v}", **{ema_name(TARIFF): t, ema_name(VAO): v})
                for t in (0.03, 0.075) for v in (False, True)]
    with ema.SequentialEvaluator(model) as evaluator:
        experiments, outcomes = ema.perform_experiments(model, policies=policies, evaluator=evaluator)
    assert len(experiments) == 4 and experiments[ema_name(VAO)].dtype == bool
    for name, values in outcomes.items():
        assert values.shape == (4, 2), name
        assert np.isfinite(values).all(), name
    tariff, vao = experiments[ema_name(TARIFF)].to_numpy(), experiments[ema_name(VAO)].to_numpy()
    mw, volume = outcomes["pak_mw_reps"].mean(axis=1), outcomes["pak_volume_usd_reps"].mean(axis=1)
    cheap, dear = tariff < 0.05, tariff > 0.05
    # The tariff sets Pakistan's mining power (a quarter of the 2,000 MW and more at $0.03, under
    # a quarter of that at $0.075); the ordinance its stance and trading volume.
    assert mw[cheap].min() > 500 and mw[dear].max() < mw[cheap].min() / 4
    regulated = outcomes["pak_regulated_reps"]
    assert (regulated[vao] == 1).all() and (regulated[~vao] == 0).all()
    assert volume[vao].min() > 1.1 * volume[~vao].max()
    # Replications run with different seeds (the price path differs) and the same seed at
    # every experiment (common random numbers: no input here touches the price).
    price = outcomes["price_usd_reps"]
    assert price[0, 0] != price[0, 1]
    assert (price == price[0]).all()

    # The same root seed reproduces the outcomes exactly; a model built anew, one experiment.
    again = small_model(aggregate=None)
    _, outcomes2 = ema.perform_experiments(again, policies=policies[:1], evaluator=ema.SequentialEvaluator(again))
    for name in outcomes:
        assert np.array_equal(outcomes2[name][0], outcomes[name][0]), name

    # PRIM on the ordinance's effect: the box is the bool lever, and inspect() works.
    y = volume > (volume[vao].min() + volume[~vao].max()) / 2
    x = prim_inputs(experiments)
    assert list(x.columns) == [ema_name(TARIFF), ema_name(VAO)] and all(d == np.float64 for d in x.dtypes)
    box = prim.Prim(x, y, mass_min=0.2).find_box()
    stats, limits = box.inspect(style="data")[-1]
    assert stats["density"] == 1.0 and stats["coverage"] == 1.0
    assert list(limits.index) == [ema_name(VAO)]
    low, high = limits.iloc[0, 0], limits.iloc[0, 1]
    assert 0.0 < low <= high == 1.0  # enabled (PRIM peels a 0/1 column at a cut between the two)


@pytest.mark.slow
def test_readme_example_runs_as_written():
    code = readme_example()
    assert "perform_experiments(" in code and "prim.Prim(" in code
    namespace: dict = {}
    exec(compile(code, "README.md (EMA Workbench)", "exec"), namespace)
    experiments, outcomes, box = namespace["experiments"], namespace["outcomes"], namespace["box"]
    assert len(experiments) == 4
    assert all(np.isfinite(v).all() and v.shape == (4,) for v in outcomes.values())
    assert experiments["shocks__pak_vao__enabled"].dtype == bool
    assert 0 < box.coverage <= 1 and box.density == 1.0
    assert isinstance(prim_inputs(experiments), pd.DataFrame)
    assert math.isfinite(float(outcomes["pak_volume_usd"].sum()))
