""" "How we decided": the account of an outage's verdict in plain words, with the detector's rule
names and p-values kept to its last, technical line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from detection.models import Outage, OutageEvent
from detection.presentation.times import time_text
from detection.presentation.words import country_in_sentence, country_name, duration_text

# How the detector's rule names read ("nb_5m": kind and window), for "How we decided" only.
_RULE_KINDS = {
    "poisson": "compared with the random ups and downs any count has",
    "nb": "compared with this service's usual ups and downs",
    "excess": "far above normal by a margin that needs no statistics",
}


_P_VALUE = re.compile(r"p = ([0-9.]+e[-+]?[0-9]+)")


# The statistics' names, for the technical line only.
_RULE_NAMES = {"poisson": "Poisson", "nb": "negative binomial", "excess": "plain excess"}


# What the detector appends to its notes for experts: "(p = 2.4e-46, rule poisson_1m)",
# "(opened on rule nb_1m, highest score 0.77)". Moved to the technical line, out of the sentences.
_TECHNICAL = re.compile(
    r"\s*\(((?:p = [^,()]+, )?(?:opened on )?rule [a-z0-9_]+(?:, (?:highest )?score [0-9.]+)?)\)"
)


_EXPECTED = re.compile(r" vs [0-9.]+ expected(?: at the level before them)?")


_SUMMARY_SPAN = re.compile(r" (?:since \d{2}:\d{2}|from \d{2}:\d{2} to \d{2}:\d{2}) UTC(?=\.)")


_COUNTRY_SHARE = re.compile(r"\b([A-Z]{2}) (\d+%)")


def _rule_parts(rule: str) -> tuple[str, str] | None:
    match = re.fullmatch(r"([a-z]+)_(\d+)m", rule or "")
    if not match:
        return None
    kind, minutes = match.group(1), int(match.group(2))
    window = "the last minute" if minutes == 1 else f"the last {minutes} minutes together"
    return kind, window


def rule_words(rule: str, *, cold: bool = False) -> str:
    """ "nb_5m" -> "the reports of the last 5 minutes together, compared with ..." (plain
    words: the rule's own name goes to the technical line, ``rule_technical``)."""
    parts = _rule_parts(rule)
    if parts is None:
        return "the reports" if rule else "no rule recorded"
    kind, window = parts
    if cold:
        return f"the reports of {window}, far more than a service with no history has"
    return f"the reports of {window}, {_RULE_KINDS.get(kind, 'compared with what is normal')}"


def rule_technical(rule: str) -> str:
    """ "nb_1m" -> "rule nb_1m (negative binomial, 1-minute window)"."""
    match = re.fullmatch(r"([a-z]+)_(\d+)m", rule or "")
    if not match:
        return f"rule {rule}"
    name = _RULE_NAMES.get(match.group(1), match.group(1))
    return f"rule {rule} ({name}, {match.group(2)}-minute window)"


def chance_words(p: float) -> str:
    """How unlikely, in words: "less than one in a billion"."""
    if p <= 0:
        return "practically impossible"
    for limit, words in (
        (1e-12, "less than one in a trillion"),
        (1e-9, "less than one in a billion"),
        (1e-6, "less than one in a million"),
        (1e-3, "less than one in a thousand"),
    ):
        if p < limit:
            return words
    return f"about one in {round(1 / p):,}"


@dataclass(frozen=True)
class DecisionLine:
    """One line of "How we decided"; ``at`` (if any) goes before it as a <time>."""

    text: str
    at: datetime | None = None

    def __str__(self) -> str:
        # The API's form: read later than written, so always with the date (as its
        # explanation; the page's <time> shows it when not today).
        return f"{time_text(self.at, date=True)}: {self.text}" if self.at else self.text


def decision_details(
    outage: Outage,
    events: Iterable[OutageEvent],
    problems: Sequence[dict[str, Any]] = (),
    *,
    cold: bool = False,
) -> list[DecisionLine]:
    """The account for the collapsed "How we decided", in plain words: which time window, how
    unlikely, the score, the detector's notes with country and problem names; the rule names
    and p-values only in the last, technical line. ``problems`` (as selectors.outage_problems
    gives them) name the problems; ``cold``: the service has no history yet (cold_start)."""
    name = outage.service.name
    normal = "what a new service typically sees" if cold else "what is normal for this service"
    lines = [
        DecisionLine(
            "We compare the reports of every minute, and of longer windows summed, with "
            f"{normal} at this time of day and week. Each network counts once, and a rise "
            "must still stand out with everything one machine could have sent set aside."
        ),
    ]
    technical = [rule_technical(outage.rule)] if outage.rule else []
    if outage.rule:
        lines.append(DecisionLine(f"It opened on {rule_words(outage.rule, cold=cold)}."))
    if cold:
        lines.append(
            DecisionLine(
                f"{name} has almost no reports normally: with no history here yet, we call it "
                "down only when reports come from many different networks at once. Highest "
                f"anomaly score: {outage.score:.2f} (against a new service's usual reports, "
                "not this one's)."
            )
        )
    else:
        lines.append(
            DecisionLine(
                # Calibrated on the service's own history (detection.core.calibration): a bursty
                # service's big bursts score lower than a calm one's, and say so.
                f"Highest anomaly score: {outage.score:.2f} (measured against this service's "
                "own history: 0 is an ordinary minute, 0.5 as rare as the few alarms a month "
                "it is allowed, near 1 far rarer than anything it has shown)."
            )
        )
    for event in events:
        if event.kind not in (OutageEvent.Kind.OPENED, OutageEvent.Kind.COUNTRY):
            continue
        if not event.message:
            continue
        # A country's note starts with its code ("DE: 46 reports..."), which the line names
        # already: "Germany: DE: 46 reports" (API tester F20).
        prefix = f"{event.country}: " if event.country else ""
        note, found = _plain_note(event.message.removeprefix(prefix), outage, problems, cold=cold)
        match = _P_VALUE.search(event.message)
        if match:
            note += f" By chance alone: {chance_words(float(match.group(1)))}."
        where = f"{country_name(event.country)}: " if event.country else ""
        lines.append(DecisionLine(where + note, at=_evidence_at(event)))
        if event.kind == OutageEvent.Kind.OPENED:
            lines += _judged_late(event)
        # Named by what it is, not by a UTC time beside lines in the reader's zone (pages
        # tester F7).
        label = country_name(event.country) if event.country else "at the opening"
        technical += [f"{label}: {t}" for t in found]
    if outage.explanation:
        # Its span in UTC is the page's own first line, in the reader's zone.
        note = _SUMMARY_SPAN.sub("", outage.explanation)
        summary, found = _plain_note(note, outage, problems, cold=cold)
        lines.append(DecisionLine(f"Detector summary: {summary}"))
        technical += found
    if technical:
        lines.append(DecisionLine(f"Technical details: {'; '.join(dict.fromkeys(technical))}."))
    return lines


def _evidence_at(event: OutageEvent) -> datetime:
    """When the minute an entry quotes had closed ("in the last minute" as of then); entries
    from before minutes were recorded, when the detector wrote them."""
    return event.since + timedelta(minutes=1) if event.since else event.at


# Past this, an opening was said later than its minute allowed: our own delay, told.
_LATE = timedelta(minutes=2)


def _judged_late(event: OutageEvent) -> list[DecisionLine]:
    """A line on our own delay where the detector judged the opening minute late (catching
    up after it had stopped): the time before it is when we said so."""
    closed = _evidence_at(event)
    if event.at - closed <= _LATE:
        return []
    text = (
        f"We said so {duration_text(closed, event.at)} after that minute: our detector was "
        "catching up after a pause, not waiting for more reports."
    )
    return [DecisionLine(text, at=event.at)]


def _plain_note(
    note: str, outage: Outage, problems: Sequence[dict[str, Any]], *, cold: bool
) -> tuple[str, list[str]]:
    """A detector note in the page's words: country and problem names for codes and slugs,
    its rule and p-value taken out (returned apart, for the technical line); on a cold start
    no "vs 3.2 expected", which nobody observed."""
    technical = _TECHNICAL.findall(note)
    note = _TECHNICAL.sub("", note)
    if cold:
        note = _EXPECTED.sub("", note)
    note = _COUNTRY_SHARE.sub(lambda m: f"{country_in_sentence(m.group(1))} {m.group(2)}", note)
    names = {p["problem"]: p["name"] for p in problems}
    for item in outage.top_problems or []:
        slug = item.get("problem") if isinstance(item, dict) else None
        if slug and slug in names:
            note = note.replace(f"{slug} (", f"{names[slug]} (")
    return note, technical
