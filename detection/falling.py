"""The "reports falling" verdict of an open outage: a detection decision the status API
exposes (`reports_falling`) and the pages word, kept apart from the wording."""

from __future__ import annotations

from collections.abc import Sequence

from detection.core.networks import ONE_HOST_SITES

# "Reports are falling": the newest closed minutes' excess over normal is at most this share
# of the outage's peak excess (or reports are back within the normal band).
FALLING_SHARE = 0.3


def reports_falling(
    *,
    recent_observed: Sequence[float],
    recent_expected: Sequence[float],
    peak_observed: float,
    peak_expected: float,
    upper: Sequence[float] | None = None,
    recent_networks: Sequence[float] | None = None,
    peak_networks: float | None = None,
) -> bool:
    """Whether reports of an open outage are back near normal: the mean excess of the newest
    closed minutes is at most FALLING_SHARE of the peak excess, or every one of them is within
    the normal band (``upper``); and the distinct networks reporting in those minutes
    (``recent_networks``, when read), less the sites one host can hold, have fallen as far
    from their own peak.

    Counted reports alone fall in a sustained surge: a network and a provider block each add
    only their allowance per window, so once the onset has spent them the counted rate settles
    far below its first minute while as many people report (2,400 reports a minute read as
    "may be over", scale tester, fortieth session). The networks reporting each minute
    carry no allowance, so they say whether people have stopped. Pure: the caller passes
    closed minutes only (a filling minute always looks low)."""
    if not _back_near_normal(recent_observed, recent_expected, upper, peak_observed, peak_expected):
        return False
    if recent_networks is None or peak_networks is None or peak_networks <= peak_expected:
        return True
    # Less one host's worth: its uncounted reports cost it nothing, and from its three sites,
    # one a minute each, they kept a small outage from "may be over" for 18 minutes after its
    # crowd had stopped (abuse tester, fiftieth session).
    beyond = [max(n - ONE_HOST_SITES, 0.0) for n in recent_networks]
    return _back_near_normal(beyond, recent_expected, upper, peak_networks, peak_expected)


def _back_near_normal(
    recent: Sequence[float],
    expected: Sequence[float],
    upper: Sequence[float] | None,
    peak: float,
    peak_expected: float,
) -> bool:
    if not recent or len(recent) != len(expected):
        return False
    peak_excess = peak - peak_expected
    if peak_excess <= 0:
        return False
    if (
        upper is not None
        and len(upper) == len(recent)
        and all(o <= u for o, u in zip(recent, upper, strict=True))
    ):
        return True
    excess = sum(o - e for o, e in zip(recent, expected, strict=True))
    return excess / len(recent) <= FALLING_SHARE * peak_excess


def near_normal(observed: float, expected: float, peak: float, peak_expected: float) -> bool:
    """One minute's excess at most FALLING_SHARE of the peak's."""
    return observed - expected <= max(FALLING_SHARE * (peak - peak_expected), 0.0)
