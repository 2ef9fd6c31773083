"""Ranges of assumptions: ``{ value = ..., assumption = "...", range = [low, high] }`` is checked
(one ScenarioError naming file, field and value), kept with the provenance, dropped by an
override, and written back in the resolved scenario."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import write_scenario

from model import ScenarioError, load_scenario
from model.scenario import PROJECT_ROOT


def _error(tmp_path, body: str) -> ScenarioError:
    path = write_scenario(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (field, _, _), = info.value.problems  # one problem, naming the range
    assert str(path) in str(info.value)
    return info.value


@pytest.mark.parametrize("rng, shown", [
    ("[0.6, 0.9]", "[0.6, 0.9]"),      # the value (0.5) below the range
    ("[0.1, 0.4]", "[0.1, 0.4]"),      # ... above it
    ("[0.9, 0.1]", "[0.9, 0.1]"),      # low above high
    ("[0.5, 0.5]", "[0.5, 0.5]"),      # no width to sample
    ("[0.1, nan]", "nan"),
    ("[-inf, 1.0]", "-inf"),
    ("[0.1]", "[0.1]"),
    ("[0.1, 0.5, 0.9]", "[0.1, 0.5, 0.9]"),
    ('["a", 1.0]', "'a'"),
    ("[true, 1.0]", "True"),
    ("0.3", "0.3"),
])
def test_a_bad_range_is_refused_naming_file_field_and_value(tmp_path, rng, shown):
    err = _error(tmp_path, f'[volume]\np2p_factor = {{ value = 0.5, assumption = "x", range = {rng} }}\n')
    assert err.problems[0][0] == "volume.p2p_factor.range"
    assert shown in str(err)


def test_a_range_on_a_published_or_fitted_figure_is_refused(tmp_path):
    for kind in ("source", "fitted"):
        err = _error(tmp_path, f'[volume]\np2p_factor = {{ value = 0.5, {kind} = "x", range = [0.2, 0.8] }}\n')
        assert err.problems[0][0] == "volume.p2p_factor.range" and kind in str(err)


def test_the_cli_gives_one_line_and_status_2(tmp_path):
    path = write_scenario(tmp_path, '[volume]\np2p_factor = { value = 0.5, assumption = "x", range = [0.6, inf] }\n')
    done = subprocess.run([sys.executable, "-m", "experiments", "run", str(path), "--households", "0",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "volume.p2p_factor.range" in done.stderr and "inf" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_ranges_are_kept_and_written_back_in_the_resolved_scenario(tmp_path):
    spec = load_scenario("south_asia_2025")
    assert spec.ranges["volume.p2p_factor"] == (0.2, 1.0)
    assert spec.ranges["mining.relocation_weeks"] == (12, 52)
    assert 8 <= len(spec.ranges) <= 15
    for path, (low, high) in spec.ranges.items():
        assert spec.provenance[path][0] in ("assumption", "derived")
        assert "range" in spec.provenance[path][1]  # each says why (its text or note)
    resolved = tmp_path / "scenario.toml"
    resolved.write_text(spec.to_toml())
    again = load_scenario(resolved)
    assert again.ranges == spec.ranges
    assert again.to_toml() == spec.to_toml()


def test_an_override_drops_the_range():
    spec = load_scenario("south_asia_2025", {"volume.p2p_factor": 0.9})
    assert "volume.p2p_factor" not in spec.ranges
    assert "range" not in spec.to_toml().split("[volume.p2p_factor]")[1].split("\n[")[0]
