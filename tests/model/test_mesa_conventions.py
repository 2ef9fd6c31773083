"""What a Mesa user reaches for first: ``rng=``, ``seed=None``, a DataCollector that
``mesa.batch_run`` reads, ``remove_all_agents``, a public read API, and the README's
Python examples run as written."""

from __future__ import annotations

import multiprocessing
import re
from pathlib import Path

import mesa
import numpy as np
import pytest

from model.model import CryptoAdoptionModel

ROOT = Path(__file__).resolve().parents[2]
SMALL = 2_000


@pytest.fixture
def keep_start_method():
    """batch_run forces the 'spawn' start method process-wide; put back what was there."""
    before = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(before, force=True)


def _short(model: CryptoAdoptionModel, steps: int = 4) -> CryptoAdoptionModel:
    for _ in range(steps):
        model.step()
    return model


def test_rng_is_the_root_seed_and_seed_its_alias():
    a = _short(CryptoAdoptionModel(rng=42, households=SMALL))
    b = _short(CryptoAdoptionModel(seed=42, households=SMALL))
    c = _short(CryptoAdoptionModel(rng=43, households=SMALL))
    assert a.seed == b.seed == 42
    assert a.timeseries().equals(b.timeseries())
    assert not a.timeseries().equals(c.timeseries())
    with pytest.raises(ValueError, match="not both"):
        CryptoAdoptionModel(rng=1, seed=1, households=SMALL)
    for bad in (-1, 1.5, True, "7"):
        with pytest.raises(ValueError, match="whole number >= 0"):
            CryptoAdoptionModel(rng=bad, households=SMALL)


def test_no_seed_draws_one_and_records_it():
    a = CryptoAdoptionModel(rng=None, households=SMALL)
    b = CryptoAdoptionModel(households=SMALL)
    assert isinstance(a.seed, int) and a.seed >= 0 and a.seed != b.seed
    again = CryptoAdoptionModel(rng=a.seed, households=SMALL)
    assert _short(a).timeseries().equals(_short(again).timeseries())
    from_generator = CryptoAdoptionModel(rng=np.random.default_rng(5), households=SMALL)
    assert from_generator.seed == CryptoAdoptionModel(rng=np.random.default_rng(5), households=SMALL).seed


def test_datacollector_holds_the_headline_metrics_each_step():
    m = _short(CryptoAdoptionModel(rng=0, households=SMALL), 5)
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == 6  # the initial state and five steps
    expected = {"network_hashrate_ehs", "btc_price_usd", "trading_volume_usd", "adoption_rate"}
    expected |= {f"hashrate_share_{c}" for c in m.household_countries}
    assert set(df.columns) == expected
    assert np.isfinite(df.to_numpy(dtype=float)).all()
    ts = m.timeseries()
    world = ts[(ts.country == "WORLD") & (ts.metric == "hashrate_ehs")]["value"].to_numpy()
    np.testing.assert_array_equal(df["network_hashrate_ehs"].to_numpy(), world)
    pak = ts[(ts.country == "PAK") & (ts.metric == "hashrate_share")]["value"].to_numpy()
    np.testing.assert_array_equal(df["hashrate_share_PAK"].to_numpy(), pak)


def test_batch_run_with_rng_list_and_two_parameter_values(keep_start_method):
    rows = mesa.batch_run(CryptoAdoptionModel, rng=[0, 1], max_steps=6, display_progress=False,
                          parameters={"households": SMALL,
                                      "overrides": [{"market.price.volatility_per_year": v} for v in (0.3, 0.9)]})
    assert len(rows) == 4
    assert {r["seed"] for r in rows} == {0, 1}
    assert all(r["Step"] == 6 and np.isfinite(r["network_hashrate_ehs"]) for r in rows)
    # the same seed with the same parameters is the same run
    again = mesa.batch_run(CryptoAdoptionModel, rng=[0], max_steps=6, display_progress=False,
                           parameters={"households": SMALL,
                                       "overrides": [{"market.price.volatility_per_year": 0.3}]})
    first = next(r for r in rows if r["seed"] == 0 and r["overrides"]["market.price.volatility_per_year"] == 0.3)
    assert again[0]["network_hashrate_ehs"] == first["network_hashrate_ehs"]


def test_batch_run_with_iterations(keep_start_method):
    with pytest.warns(DeprecationWarning):  # Mesa 3.5 deprecates iterations for rng=[None] * n
        rows = mesa.batch_run(CryptoAdoptionModel, iterations=2, max_steps=3, display_progress=False,
                              parameters={"households": SMALL})
    assert len(rows) == 2
    assert rows[0]["seed"] is None  # batch_run passed None: each model drew its own seed
    assert all(np.isfinite(r["trading_volume_usd"]) for r in rows)


def test_remove_all_agents_leaves_nothing_to_step():
    m = _short(CryptoAdoptionModel(rng=0, households=SMALL), 2)
    assert len(m.agents) > 0
    m.remove_all_agents()
    assert len(m.agents) == 0 and not m.countries and not m.fleets and not m.exchanges
    assert m.households is None and m.running is False
    with pytest.raises(RuntimeError, match="remove_all_agents"):
        m.step()
    with pytest.raises(RuntimeError, match="remove_all_agents"):
        m.run()


def test_public_read_api_matches_the_tidy_table():
    m = _short(CryptoAdoptionModel(rng=3, households=SMALL), 3)
    ts = m.timeseries().query("step == 3")
    for (country, metric), value in ts.set_index(["country", "metric"])["value"].items():
        assert m.value(metric, country) == value
    assert m.value("adoption_rate", "USA") is None  # no households there: the metric does not apply
    assert m.value("hashrate_ehs", step=0) == m.timeseries().query(
        "step == 0 and country == 'WORLD' and metric == 'hashrate_ehs'")["value"].item()
    with pytest.raises(KeyError):
        m.value("no_such_metric")
    volumes = m.exchange_volumes_usd("PAK")
    assert list(volumes)[-1] == "P2P" and sum(volumes.values()) == pytest.approx(m.value("trading_volume_usd", "PAK"))
    assert m.exchange_volumes_usd("USA") == {}
    total, crypto = m.remittances_usd("PAK")
    assert total > 0 and 0 <= crypto <= total
    if m.value("remittance_crypto_usd", "PAK") is not None:
        assert crypto == pytest.approx(m.value("remittance_crypto_usd", "PAK"))


def _readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## The Python API"):text.index("## How the model works")]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_readme_python_examples_run_as_written(keep_start_method):
    blocks = _readme_python_blocks()
    assert len(blocks) >= 2
    scope: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), scope)
    assert scope["m"].date.isoformat() <= "2026-01-01"
    assert len(scope["rows"]) == 4
