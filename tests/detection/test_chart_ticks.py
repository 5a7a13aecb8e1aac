"""Chart ticks carry their instant, so the reader's browser can label them in its own zone;
count labels stay short."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from detection.charts import series_chart_svg
from detection.selectors import Series, SeriesPoint

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _chart(observed: list[int]) -> str:
    """The chart of one count a minute from START, no baseline."""
    points = [
        SeriesPoint(at=START + timedelta(minutes=k), minutes=1, complete=True, observed=n,
                    expected=None, lower=None, upper=None)
        for k, n in enumerate(observed)
    ]  # fmt: skip
    series = Series(
        service=None, country="", step_minutes=1, start=START,
        end=START + timedelta(minutes=len(observed)), baseline_method=None, points=points,
    )  # fmt: skip
    return str(series_chart_svg(series))


def test_ticks_carry_their_utc_instant():
    svg = _chart([2] * 360)
    ticks = re.findall(r'data-tick="([^"]+)" data-tick-format="(\w+)">([^<]+)<', svg)
    assert len(ticks) >= 3 and all(fmt == "clock" for _, fmt, _ in ticks)
    for instant, _, label in ticks:
        assert datetime.fromisoformat(instant).strftime("%H:%M") == label


def test_count_labels_keep_three_digits_and_a_unit():
    svg = _chart([2**31 if k == 30 else 5 for k in range(60)])
    labels = re.findall(r'class="chart-label"[^>]*text-anchor="end">([^<]+)<', svg)
    assert len(labels) == 5 and labels[0] == "0"
    assert all(re.fullmatch(r"\d+(\.\d+)?[kMG]?", label) for label in labels), labels
    assert labels[-1].endswith("G")


def test_a_service_name_with_quotes_and_brackets_stays_inside_the_chart_s_label():
    # The outage page puts the service's name in the chart's aria-label, an attribute built by
    # string formatting: a name with a double quote (added through the admin) would end it and
    # add attributes of its own. Unescaped, it passed every test (mutation tester, forty-sixth
    # session).
    from html.parser import HTMLParser

    from django.template import Context, Template

    name = 'Q&A "x" onload="alert(1)" <b>'
    points = [
        SeriesPoint(at=START + timedelta(minutes=k), minutes=1, complete=True, observed=2,
                    expected=None, lower=None, upper=None)
        for k in range(30)
    ]  # fmt: skip
    series = Series(
        service=None, country="", step_minutes=1, start=START,
        end=START + timedelta(minutes=30), baseline_method=None, points=points,
    )  # fmt: skip
    html = Template(
        "{% load outage_charts %}"
        '{% series_chart series title="Reports about "|add:name|add:" around the outage" %}'
    ).render(Context({"series": series, "name": name}))

    class Svgs(HTMLParser):
        def __init__(self):
            super().__init__()
            self.attrs, self.titles, self.tags, self.in_title = [], [], set(), False

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.in_title = tag == "title"
            if tag == "svg":
                self.attrs.append(dict(attrs))

        def handle_data(self, data):
            if self.in_title:
                self.titles.append(data)

        def handle_endtag(self, tag):
            self.in_title = False

    parsed = Svgs()
    parsed.feed(html)
    title = f"Reports about {name} around the outage"
    assert len(parsed.attrs) == 2  # the wide and the narrow drawing
    for attrs in parsed.attrs:
        assert attrs["aria-label"] == title
        assert "onload" not in attrs
    assert parsed.titles == [title, title]
    assert "b" not in parsed.tags
