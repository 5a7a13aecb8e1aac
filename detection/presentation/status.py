"""A service's status now: its badge and its sentence ("User reports indicate problems ...")."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings

from detection.falling import near_normal
from detection.presentation.times import TIME, render
from detection.presentation.words import (
    FALLING_LABEL,
    about,
    about_reports,
    countries_in_sentence,
    level_label,
    rate_phrase,
)

if TYPE_CHECKING:
    from detection.selectors import ServiceState


# Counters say their unit: totals name their span, rates say "a minute".
COUNTER_LABELS = {
    "last_15m": "Reports in the last 15 minutes",
    "last_1h": "Reports in the last hour",
    "last_24h": "Reports in the last 24 hours",
    "expected": "Normal now, per minute",
}


def status_label(state: ServiceState) -> str:
    """The badge: "No problems", "Possible problems", "Problems detected", "Reports falling"."""
    return FALLING_LABEL if state.falling else level_label(state.level)


def status_look(state: ServiceState) -> str:
    """The badge's colour, by level code: reports falling read as a warning ("possible"'s
    look), not as the alarm of problems detected, wherever the badge is shown."""
    return "possible" if state.falling else state.code


def status_sentence(
    state: ServiceState,
    *,
    now: datetime | None = None,
    html: bool = False,
) -> str:
    """The service's status in a sentence or three.

    ``html``: the times as ``<time>`` elements (a SafeString); otherwise plain UTC text.
    """
    name = state.service.name
    if state.level == 0:
        return render(f"No current problems at {name}.", None, html=html, now=now)
    # A relapse is told from its reopening: a "resolved" notice went out before it.
    since = state.again_since or state.problems_since
    again = " again" if state.again_since else ""
    if state.falling:
        return render(_falling_sentence(state, since is not None), since, html=html, now=now)
    what = "problems" if state.level >= 2 else "possible problems"
    text = f"User reports indicate {what} at {name}{again}"
    if since is not None:
        text += f" since {TIME}"
    text += f". {_evidence(state)}"
    if state.countries:
        text += f" Most reports come from {countries_in_sentence(state.countries[:3])}."
    return render(text, since, html=html, now=now)


def status_why(state: ServiceState) -> str:
    """What the verdict rests on, in plain text: status_sentence's own words without what a
    home board row already shows beside them (the name and verdict in its badge, since when,
    the countries), so a row says why in a few lines, on a phone too. "" with no problems.
    Untimed: the row gives the time, and the words stay true however long they are cached."""
    if state.level == 0:
        return ""
    if state.falling:
        return _falling_sentence(state, timed=False)
    return _evidence(state)


def _falling_sentence(state: ServiceState, timed: bool) -> str:
    name = state.service.name
    if _at_normal(state):
        now = (
            "none in the last minute"
            if state.observed <= 0
            else f"{about_reports(state.observed)} a minute"
        )
        # No "normal levels" on a cold start: the page says its normal is not known yet.
        back = "have calmed down" if state.cold else "are back to normal levels"
        text = f"Reports at {name} {back}: {now}."
    else:
        rate = rate_phrase(state.observed, _normal(state), capital=False)
        text = f"Reports are falling at {name}: now {rate}."
    came = "came back" if state.again_since else "started"
    if timed:
        return text + f" The problems that {came} at {TIME} may be over."
    return text + " The problems may be over."


def _normal(state: ServiceState) -> float | None:
    """The normal a sentence may quote: none on a cold start, whose `expected` is the
    detector's guess for a new service (explain tester F2)."""
    return None if state.cold else state.expected


def _at_normal(state: ServiceState) -> bool:
    """The newest minute is no more than normal (as people read the rounded numbers)."""
    if state.expected is None:
        return state.observed <= 0
    return state.observed <= state.expected or about(state.observed) == about(state.expected)


# Why "possible problems" is not "problems detected", by selectors.POSSIBLE_REASONS.
POSSIBLE_WHY = {
    "after_outage": (
        "It is only possible because an outage here has just ended: we call it again only on "
        "fresh reports in the next minutes, not on those still counted from it."
    ),
    # The series' own threshold (calibration) held it: "a single minute so far" in a relapse's
    # second minute was not why (documentation tester, forty-eighth session).
    "outage_bar": (
        "It is only possible because an outage here has just ended, which raised the bar for "
        "calling another: we call it again once the reports hold for a few minutes or climb "
        "higher."
    ),
    "own_bursts": (
        "It is only possible because reports here have jumped this far before: we call it an "
        "outage once they hold for a few minutes or climb higher."
    ),
    "one_minute": (
        "It is only possible because the jump is in a single minute so far: we call it an "
        "outage once it holds for another minute or comes from more networks."
    ),
    # Not "one more minute like this confirms it": an outage opens on the first minute that
    # clears the bar, and minutes like this one had not (words tester F4).
    "": (
        "It is only possible so far: reports are above normal, but not yet far enough above "
        "it to call an outage. We call one if they climb higher or go on."
    ),
}
# The newest minute is back at normal while "possible" is held for a few minutes: "one more
# minute like this" read as "another empty minute would confirm it" (explain tester F4).
POSSIBLE_HELD = (
    "It is only possible: the reports that raised it have not gone on. We keep it for a few "
    "minutes in case more come."
)


def _evidence(state: ServiceState) -> str:
    """What the verdict rests on now. An open outage whose newest minute has dropped is not
    evidenced by a below-normal rate (the "reports falling" verdict waits for FALLING_MINUTES
    closed minutes): it says the drop and quotes the peak (finding F23), its current run's."""
    if state.level >= 2 and state.outage is not None and _dropped(state):
        text = "Reports have dropped in the last minutes; we are confirming whether it is over."
        peak_observed, peak_expected = _peak(state)
        if peak_observed:
            normal = None if state.cold else peak_expected or None
            peak = rate_phrase(peak_observed, normal, capital=False)
            text += f" At the peak: {peak}."
        return text
    text = f"Now {rate_phrase(state.observed, _normal(state), capital=False)}."
    text += _networks_beyond_counted(state)
    if state.level == 1 and _at_normal(state):
        text += " " + POSSIBLE_HELD
    elif state.level == 1:
        text += " " + POSSIBLE_WHY.get(state.possible_reason, POSSIBLE_WHY[""])
    return text


def _networks_beyond_counted(state: ServiceState) -> str:
    """Why a surge's counted rate is far below the reports arriving: without it, "about 20
    reports a minute" reads as the whole story while thousands come (scale tester)."""
    networks = state.networks or 0
    if networks < 10 or networks < 2 * state.observed:
        return ""
    window = settings.REPORT_DEDUP_WINDOW_MINUTES
    return (
        f" {networks:,} networks reported in the last minute: each counts once in {window}"
        " minutes, so fewer reports are counted than arrive."
    )


def _peak(state: ServiceState) -> tuple[float, float]:
    """The current run's peak (counted reports, normal then): a relapse's own when read
    (selectors), else the outage's."""
    if state.peak_observed is not None and state.peak_expected is not None:
        return state.peak_observed, state.peak_expected
    assert state.outage is not None  # _evidence asks only of a state with its outage
    return state.outage.peak_observed, state.outage.peak_expected


def _dropped(state: ServiceState) -> bool:
    """The newest minute is back near normal: its excess at most FALLING_SHARE of the peak's,
    as detection.falling judges the falling verdict's minutes, in counted reports and (when
    read) in the networks reporting."""
    if state.expected is None:
        return False
    peak_observed, peak_expected = _peak(state)
    if not near_normal(state.observed, state.expected, peak_observed, peak_expected):
        return False
    if state.networks is None or state.peak_networks is None:
        return True
    if state.peak_networks <= peak_expected:
        return True
    return near_normal(state.networks, state.expected, state.peak_networks, peak_expected)
