"""The policy panel's copies in data/: the held-out African countries are absent, and the
events are real changes that chain from the 2013 stances."""

import pandas as pd

from data import table

# UN M49 region Africa (data/README.md lists the same codes)
AFRICA = set("DZA AGO BEN BWA BFA BDI CPV CMR CAF TCD COM COG COD CIV DJI EGY GNQ ERI SWZ ETH GAB GMB GHA GIN "
             "GNB KEN LSO LBR LBY MDG MWI MLI MRT MUS MAR MOZ NAM NER NGA RWA STP SEN SYC SLE SOM ZAF SSD SDN TZA "
             "TGO TUN UGA ZMB ZWE ESH SHN REU MYT".split())


def test_no_african_country_in_the_policy_panel():
    codes = set()
    for name, cols in (("policy_events.csv", ["iso3"]), ("policy_stance_2013.csv", ["iso3"]),
                       ("policy_land_borders.csv", ["iso3_a", "iso3_b"]), ("policy_links.csv", ["sender", "receiver"]),
                       ("policy_covariates.csv", ["iso3"]), ("policy_regions.csv", ["iso3"])):
        frame = pd.read_csv(table(name), dtype=str)
        for col in cols:
            codes |= set(frame[col])
    assert len(codes) == 51 and not codes & AFRICA


def test_events_are_changes_that_chain_from_2013():
    events = pd.read_csv(table("policy_events.csv"))
    start = pd.read_csv(table("policy_stance_2013.csv")).set_index("iso3").stance_2013
    assert len(events) == 59 and (events.from_stance != events.to_stance).all()
    for code, rows in events.sort_values("date").groupby("iso3"):
        stance = start[code]
        for r in rows.itertuples():
            assert r.from_stance == stance, (code, r.date)
            stance = r.to_stance


def test_every_panel_country_has_one_region():
    regions = pd.read_csv(table("policy_regions.csv"))
    start = pd.read_csv(table("policy_stance_2013.csv"))
    assert sorted(regions.iso3) == sorted(start.iso3) and regions.iso3.is_unique
