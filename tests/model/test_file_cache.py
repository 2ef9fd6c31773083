"""The per-process cache of parsed files: a changed file is read again, callers never share state."""

from __future__ import annotations

import os

import pytest

from model.errors import ScenarioError
from model.file_cache import cached_read
from model.scenario import load_scenario


def _count_reads(path):
    _count_reads.calls += 1
    return {"text": path.read_text(), "items": [1, 2]}


def test_reads_once_per_version_and_hands_out_copies(tmp_path):
    _count_reads.calls = 0
    f = tmp_path / "a.txt"
    f.write_text("one")
    first = cached_read(_count_reads, f)
    first["items"].append(3)  # a caller changing its copy
    again = cached_read(_count_reads, f)
    assert _count_reads.calls == 1 and again == {"text": "one", "items": [1, 2]}
    f.write_text("two!")  # another size and modification time
    os.utime(f, ns=(1, 1))
    assert cached_read(_count_reads, f)["text"] == "two!" and _count_reads.calls == 2


def test_a_scenario_edited_between_builds_is_read_again(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('include = ["{}"]\nname = "edited"\n'.format(
        (load_scenario("south_asia_2025").file).as_posix()))
    assert load_scenario(str(f)).config.name == "edited"
    f.write_text(f.read_text().replace('"edited"', '"edited again"'))
    assert load_scenario(str(f)).config.name == "edited again"
    f.write_text("name = [\n")  # broken: the clear message every time, never a cached parse
    for _ in range(2):
        with pytest.raises(ScenarioError, match="malformed TOML"):
            load_scenario(str(f))
