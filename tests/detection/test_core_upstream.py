"""Upstream grouping (detection/core/upstream.py) on recorded scenarios.

The onsets follow the public timelines of real incidents (the providers' post-mortems and the
press at the time), rounded to the minute; the dependencies are what the catalog says of each
service. The catalog is filled to its real size with services of other providers, because the
chance test depends on how many services there are.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from detection.core.upstream import OutageOnset, upstream_groups

CATALOG_SIZE = 271
DEPENDENCIES: dict[str, list[str]] = {
    "cloudflare": [],
    "fastly": [],
    "aws": [],
    "discord": ["cloudflare", "google-cloud"],
    "shopify": ["cloudflare", "google-cloud"],
    "canva": ["cloudflare", "aws"],
    "coinbase": ["cloudflare", "aws"],
    "notion": ["cloudflare", "aws"],
    "chatgpt": ["cloudflare", "microsoft-azure"],
    "reddit": ["fastly", "aws"],
    "twitch": ["fastly", "aws"],
    "spotify": ["fastly", "google-cloud"],
    "amazon": ["fastly", "aws"],
    "hulu": ["fastly", "aws"],
    "slack": ["aws"],
    "disney-plus": ["aws", "akamai"],
    "venmo": ["aws"],
    "netflix": ["aws"],
    "facebook": ["meta"],
    "instagram": ["meta"],
    "whatsapp": ["meta"],
    "messenger": ["meta"],
    "steam": ["akamai"],
    "gmail": ["google-cloud"],
    "youtube": ["google-cloud"],
    "xbox-network": ["microsoft-azure"],
    "zoom": ["aws", "oracle-cloud"],
    "x": [],
    "tiktok": ["akamai"],
    "paypal": ["akamai"],
    "chase": [],
    "verizon": [],
    "roblox": [],
}
# The rest of the catalog: services of providers none of these scenarios involve, and users
# of the big providers that stay up (they have far more dependents than break at once).
for i in range(30):
    DEPENDENCIES[f"cf-user-{i}"] = ["cloudflare"]
    DEPENDENCIES[f"gc-user-{i}"] = ["google-cloud"]
for i in range(CATALOG_SIZE - len(DEPENDENCIES)):
    DEPENDENCIES[f"other-{i}"] = [f"provider-{i % 20}"]


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=UTC)


def onsets(day: str, rows: list[tuple[str, str]]) -> list[OutageOnset]:
    return [OutageOnset(id=i + 1, service=s, onset=at(day, t)) for i, (s, t) in enumerate(rows)]


def test_the_catalog_of_the_scenarios_has_the_real_size():
    assert len(DEPENDENCIES) == CATALOG_SIZE


def test_cloudflare_2022_06_21_is_one_upstream_outage_with_cloudflare_itself():
    outages = onsets(
        "2022-06-21",
        [
            ("discord", "06:29"),
            ("shopify", "06:30"),
            ("cloudflare", "06:31"),
            ("canva", "06:32"),
            ("coinbase", "06:34"),
            ("notion", "06:36"),
        ],
    )
    [group] = upstream_groups(outages, DEPENDENCIES)
    assert group.provider == "cloudflare"
    assert group.provider_outage_id == 3
    assert group.services == ("discord", "shopify", "canva", "coinbase", "notion")
    assert group.since == at("2022-06-21", "06:29")


def test_fastly_2021_06_08_is_found_without_an_outage_of_fastly_itself():
    outages = onsets(
        "2021-06-08",
        [
            ("reddit", "09:49"),
            ("twitch", "09:50"),
            ("spotify", "09:51"),
            ("amazon", "09:52"),
            ("hulu", "09:55"),
        ],
    )
    [group] = upstream_groups(outages, DEPENDENCIES)
    # Reddit, Twitch, Amazon and Hulu are on AWS too, but Spotify is not, and AWS has more
    # dependents: Fastly explains the five far better than chance, and better than AWS.
    assert group.provider == "fastly"
    assert group.provider_outage_id is None
    assert set(group.services) == {"reddit", "twitch", "spotify", "amazon", "hulu"}
    assert group.chance < 1e-6


def test_aws_2021_12_07_takes_its_dependents_and_leaves_cloudflare_alone():
    outages = onsets(
        "2021-12-07",
        [
            ("slack", "15:36"),
            ("aws", "15:38"),
            ("disney-plus", "15:39"),
            ("venmo", "15:41"),
            ("coinbase", "15:44"),  # on AWS and Cloudflare: AWS is down, Cloudflare is not
            ("netflix", "15:47"),
        ],
    )
    [group] = upstream_groups(outages, DEPENDENCIES)
    assert group.provider == "aws"
    assert group.provider_outage_id == 2
    assert group.services == ("slack", "disney-plus", "venmo", "coinbase", "netflix")


def test_facebook_2021_10_04_groups_the_services_of_one_owner():
    outages = onsets(
        "2021-10-04",
        [
            ("whatsapp", "15:40"),
            ("facebook", "15:41"),
            ("instagram", "15:41"),
            ("messenger", "15:43"),
        ],
    )
    [group] = upstream_groups(outages, DEPENDENCIES)
    assert group.provider == "meta" and group.dependents == 4
    assert len(group.outage_ids) == 4


def test_an_evening_surge_of_unrelated_services_is_blamed_on_nobody():
    # A busy evening: twelve services across providers break within ten minutes, three of
    # them among Cloudflare's many users: what chance gives, not what a Cloudflare outage does.
    outages = onsets(
        "2026-11-27",
        [
            ("netflix", "20:01"),
            ("discord", "20:02"),
            ("steam", "20:02"),
            ("gmail", "20:03"),
            ("x", "20:04"),
            ("chatgpt", "20:05"),
            ("roblox", "20:05"),
            ("chase", "20:06"),
            ("verizon", "20:07"),
            ("tiktok", "20:08"),
            ("canva", "20:09"),
            ("youtube", "20:10"),
        ],
    )
    assert upstream_groups(outages, DEPENDENCIES) == []


def test_services_that_share_no_provider_are_never_grouped():
    outages = onsets(
        "2026-11-27",
        [("netflix", "09:00"), ("steam", "09:01"), ("gmail", "09:01"), ("x", "09:02")],
    )
    assert upstream_groups(outages, DEPENDENCIES) == []


def test_two_dependents_alone_are_not_enough_but_the_provider_itself_is():
    two = onsets("2026-11-27", [("discord", "09:00"), ("shopify", "09:02")])
    assert upstream_groups(two, DEPENDENCIES) == []
    with_provider = [*two, OutageOnset(id=9, service="cloudflare", onset=at("2026-11-27", "09:04"))]
    [group] = upstream_groups(with_provider, DEPENDENCIES)
    assert group.provider == "cloudflare" and group.provider_outage_id == 9


@pytest.mark.parametrize("gap_minutes", [16, 45])
def test_dependents_that_break_far_apart_are_separate_events(gap_minutes):
    start = at("2026-11-27", "09:00")
    outages = [
        OutageOnset(id=i + 1, service=s, onset=start + timedelta(minutes=gap_minutes * i))
        for i, s in enumerate(["reddit", "twitch", "spotify", "amazon"])
    ]
    assert upstream_groups(outages, DEPENDENCIES) == []


def test_each_outage_joins_one_group_at_most():
    outages = onsets(
        "2021-06-08",
        [
            ("reddit", "09:49"),
            ("twitch", "09:50"),
            ("spotify", "09:51"),
            ("amazon", "09:52"),
            ("hulu", "09:55"),
            ("aws", "09:56"),
        ],
    )
    groups = upstream_groups(outages, DEPENDENCIES)
    ids = [i for g in groups for i in g.outage_ids]
    assert len(ids) == len(set(ids))
    # People report "AWS" when Amazon is down: a crowd outage of AWS minutes after everything
    # on Fastly broke does not outweigh all five of Fastly's dependents breaking together
    # (Spotify is not on AWS), and AWS is left with no dependent of its own.
    assert [g.provider for g in groups] == ["fastly"]
    assert len(groups[0].services) == 5
