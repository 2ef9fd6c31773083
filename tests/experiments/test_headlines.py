"""The README's headlines from ensembles (experiments/validation/headlines.py): every interval
holds its median, the numbers are the members' quantiles, shares come with a Wilson interval
that holds them, the same root seed prints the same lines, and a bad --members is one line.

Ensembles are tiny (4 members, 300 household agents with a floor of 30, to 2026-01): the
halving dip is beyond their end and is reported as not reached.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from experiments.validation import headlines

TINY = ["--members", "4", "--tariff-members", "4", "--households", "300", "--until", "2026-01-31",
        "--set", "run.household_floor=30", "--workers", "2", "--quiet"]
#: "MEDIAN [LOW, HIGH]": numbers (thousands with commas), shares in %, or months (YYYY-MM).
INTERVAL = re.compile(r"(?P<mid>\S+) \[(?P<lo>\S+), (?P<hi>\S+)\]")


def number(text: str) -> float:
    """A printed value as a number that orders as it does: '1,409.5' -> 1409.5, '2025-07' -> 202507."""
    return float(re.sub(r"[^\d.]", "", text))


def intervals(text: str) -> list[tuple[str, list[re.Match]]]:
    """Each line with an interval, with its intervals."""
    return [(line, found) for line in text.splitlines() if (found := list(INTERVAL.finditer(line)))]


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    out = tmp_path_factory.mktemp("headlines")
    return out, "\n".join(headlines.headline_lines(headlines.parser().parse_args(TINY + ["--out", str(out)])))


def test_every_interval_holds_its_median_and_every_outcome_is_printed(printed):
    _, text = printed
    found = intervals(text)
    for h in headlines.BASELINE + headlines.PAK_DATES:
        if h.needs is None or h.needs.isoformat() <= "2026-01-31":
            assert any(line.startswith(f"{h.label}: ") for line, _ in found), h.label
    assert "not reached (the run ends 2026-01-31)" in text  # the halving dip
    assert sum(line.startswith("pak_allocation_approved") for line, _ in found) == len(headlines.TARIFFS)
    for line, matches in found:
        for m in matches:
            assert number(m["lo"]) <= number(m["mid"]) <= number(m["hi"]), line


def test_shares_are_probabilities_inside_their_wilson_interval(printed):
    _, text = printed
    shares = [matches[0] for line, matches in intervals(text) if "Wilson 95%" in line]
    assert len(shares) == len(headlines.NEIGHBOURS) + len(headlines.TARIFFS)
    for m in shares:
        assert m["mid"].endswith("%")
        p, lo, hi = (number(m[k]) / 100 for k in ("mid", "lo", "hi"))
        assert 0 <= lo <= p <= hi <= 1
    p, lo, hi = headlines.share(0, 4)
    assert p == 0 and lo == 0 and 0 < hi < 1  # no member moved: the interval still says how far it could be
    p, lo, hi = headlines.share(3, 4)
    assert lo < p < hi


def test_the_numbers_are_the_members_quantiles(printed):
    out, text = printed
    args = headlines.parser().parse_args(TINY + ["--out", str(out)])
    _, opts = headlines.options(args)[0]
    ens = headlines.run(opts, out / headlines.folder_name(opts), headlines.BASELINE)  # resumed: nothing runs
    v = ens.members["hashrate_2025"].to_numpy()
    assert len(v) == 4 and np.isfinite(v).all()
    assert len(np.unique(v)) > 1  # members differ
    mid, lo, hi = headlines.interval(v)
    assert (mid, lo, hi) == (np.median(v), np.quantile(v, 0.05), np.quantile(v, 0.95))
    line, (m,) = next((line, ms) for line, ms in intervals(text)
                      if line.startswith("network hashrate at the end of 2025: "))
    assert [number(m[k]) for k in ("mid", "lo", "hi")] == [round(x) for x in (mid, lo, hi)]


def test_same_root_seed_same_lines_another_root_seed_other_lines(printed, tmp_path, capsys):
    _, text = printed
    baseline = [line for line in text.splitlines() if "pak_allocation_approved" not in line]
    assert headlines.main(TINY + ["--no-tariffs", "--out", str(tmp_path / "again")]) == 0
    assert capsys.readouterr().out.splitlines() == baseline
    assert headlines.main(TINY + ["--no-tariffs", "--seed", "1", "--out", str(tmp_path / "other")]) == 0
    assert capsys.readouterr().out.splitlines()[1:] != baseline[1:]


@pytest.mark.parametrize("option", ["--members", "--tariff-members"])
@pytest.mark.parametrize("value", ["1", "0", "-3"])
def test_bad_members_is_one_line_exit_2_and_runs_nothing(tmp_path, capsys, option, value):
    out = tmp_path / "never"
    assert headlines.main(TINY + [option, value, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and option in err and value in err
    assert not out.exists()
