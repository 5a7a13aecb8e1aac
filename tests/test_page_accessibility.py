"""Pages tester findings on colours, keyboard and wording, checked on the stylesheet and the
server's HTML: text and focus rings meet WCAG contrast (computed from site.css), every page
starts with a skip link, the report form's errors are tied to their fields, and outage tables
and charts say things in words."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

from detection.live import LIVE_HOURS
from tests.detection.status_data import outage_make

CSS = (Path(settings.BASE_DIR) / "static" / "css" / "site.css").read_text()

# --- a small reader of site.css: the rules outside @media, and the custom properties ---------


def _top_level(css: str) -> str:
    """The stylesheet without comments and @media blocks (the desktop rules)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out, depth, i = [], 0, 0
    while i < len(css):
        if depth == 0 and css.startswith("@media", i):
            j = css.index("{", i)
            depth, i = 1, j + 1
            continue
        char = css[i]
        if depth:
            depth += {"{": 1, "}": -1}.get(char, 0)
        else:
            out.append(char)
        i += 1
    return "".join(out)


RULES = [
    ([s.strip() for s in selectors.split(",")], body)
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", _top_level(CSS))
]


def _declarations(selector: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for selectors, body in RULES:
        if selector in selectors:
            for declaration in body.split(";"):
                name, _, value = declaration.partition(":")
                if value:
                    found[name.strip()] = value.strip()
    assert found, f"no rule for {selector}"
    return found


PROPERTIES = {
    name: value.strip() for name, value in re.findall(r"(--[\w-]+):\s*([^;]+);", _top_level(CSS))
}


def colour(value: str) -> str:
    """The colour in a declaration ("3px solid var(--focus)" -> "#1d1f23")."""
    for token in reversed(value.split()):
        while token.startswith("var("):
            token = PROPERTIES[token[4:-1]]
        if re.fullmatch(r"#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}", token):
            return token
    raise AssertionError(f"no colour in {value!r}")


def ratio(one: str, other: str) -> float:
    """WCAG 2 contrast ratio of two #rgb / #rrggbb colours."""

    def luminance(hex_colour: str) -> float:
        digits = hex_colour[1:]
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula_matches_the_testers_figures():
    assert round(ratio("#2b8a3e", "#ebfbee"), 2) == 4.07
    assert round(ratio("#fff", "#d9480f"), 2) == 4.30
    assert round(ratio("#000", "#fff"), 0) == 21


# --- F1, F2: text ----------------------------------------------------------------------------


@pytest.mark.parametrize("badge", [".badge-ok", ".badge-possible", ".badge-problems"])
def test_badge_text_meets_aa(badge):
    rule = _declarations(badge)
    assert ratio(colour(rule["color"]), colour(rule["background"])) >= 4.5


def test_primary_buttons_white_text_meets_aa_resting_hovered_and_pressed():
    text = colour(_declarations("button")["color"])
    backgrounds = [
        colour(_declarations("button")["background"]),
        colour(_declarations("button:hover")["background"]),
        colour(_declarations("button:active")["background"]),
    ]
    for background in backgrounds:
        assert ratio(text, background) >= 4.5, background
    assert len(set(backgrounds)) == 3  # hovering and pressing still show
    hovered = _declarations(".problem-buttons button:hover")
    assert ratio(colour(hovered["color"]), colour(hovered["background"])) >= 4.5


def test_the_skip_link_text_meets_aa():
    rule = _declarations(".skip-link")
    assert ratio(colour(rule["color"]), colour(rule["background"])) >= 4.5


# --- F3: the focus ring ------------------------------------------------------------------------


def test_focus_ring_stands_out_on_the_page_cards_and_tinted_boxes():
    ring = colour(_declarations("a:focus-visible")["outline"])
    for selector in ("button:focus-visible", "select:focus-visible", "summary:focus-visible"):
        assert colour(_declarations(selector)["outline"]) == ring
    page = colour(_declarations("body")["background"])
    card = colour(_declarations(".card")["background"])
    tinted = [
        colour(_declarations(s)["background"]) for s in (".message-warning", ".upstream-note")
    ]
    for background in (page, card, *tinted):
        assert ratio(ring, background) >= 3, background


def test_focus_ring_stands_out_in_the_dark_header():
    header = colour(_declarations(".site-header")["background"])
    for selector in (".site-header :focus-visible", ".skip-link:focus-visible"):
        assert ratio(colour(_declarations(selector)["outline-color"]), header) >= 3


# --- Fields (accessibility tester F4, forty-fifth session) -------------------------------------


@pytest.mark.parametrize(
    "field",
    [".report-form input", ".report-form select", ".subscribe-form input", ".big-search input"],
)
def test_a_fields_outline_shows_against_the_page_and_its_card(field):
    # Outlined in the dividers' #e2e4e8 on white: 1.27:1 (WCAG 1.4.11 asks 3:1).
    border = colour(_declarations(field)["border"])
    for background in (
        colour(_declarations("body")["background"]),
        colour(_declarations(".card")["background"]),
        "#fff",
    ):
        assert ratio(border, background) >= 3, (field, background)


def test_the_header_search_shows_its_outline_and_placeholder_on_the_dark_header():
    header = colour(_declarations(".site-header")["background"])
    field = _declarations(".header-search input")
    assert ratio(colour(field["border"]), header) >= 3
    assert ratio(colour(field["border"]), colour(field["background"])) >= 3
    # Its label is hidden: the placeholder is the visible cue, text at 4.5:1 (was 3.29:1).
    placeholder = colour(_declarations(".header-search input::placeholder")["color"])
    assert ratio(placeholder, colour(field["background"])) >= 4.5


# --- F4: skip link -------------------------------------------------------------------------------


class _Tags(HTMLParser):
    """Start tags with their attributes, in order, from <body> on."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.in_body = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_body = self.in_body or tag == "body"
        if self.in_body:
            self.tags.append((tag, dict(attrs)))

    def focusable(self) -> list[tuple[str, dict[str, str | None]]]:
        return [
            (tag, attrs)
            for tag, attrs in self.tags
            if (tag == "a" and "href" in attrs)
            or tag in ("button", "select", "textarea", "summary")
            or (tag == "input" and attrs.get("type") != "hidden")
            or (attrs.get("tabindex") not in (None, "-1"))
        ]

    def by_id(self, element_id: str) -> tuple[str, dict[str, str | None]] | None:
        return next(((t, a) for t, a in self.tags if a.get("id") == element_id), None)


@pytest.fixture
def pages(client, service):
    outage = outage_make(service, countries=())
    return {
        "/": client.get("/"),
        "/services/acme/": client.get("/services/acme/"),
        "/outages/": client.get("/outages/"),
        f"/outages/{outage.pk}/": client.get(f"/outages/{outage.pk}/"),
        "/track-record/": client.get("/track-record/"),
        "subscribe error page": client.post("/services/acme/subscribe/", {"email": "x"}),
    }


@pytest.mark.django_db
def test_every_page_starts_with_a_skip_link_to_main(pages):
    for name, response in pages.items():
        assert response.status_code in (200, 400), name
        tags = _Tags(response.content.decode())
        first_tag, first = tags.focusable()[0]
        assert (first_tag, first.get("href"), first.get("class")) == ("a", "#main", "skip-link")
        main = tags.by_id("main")
        assert main is not None and main[0] == "main" and main[1]["tabindex"] == "-1", name
    assert "Skip to main content</a>" in pages["/"].content.decode()


# --- F6: the report form's errors, tied to their fields --------------------------------------


def _report(client, **fields) -> _Tags:
    response = client.post("/services/acme/", {"problem": "login", "country": "DE", **fields})
    assert response.status_code == 400
    return _Tags(response.content.decode())


def _described_by(tags: _Tags, element_id: str) -> list[str]:
    found = tags.by_id(element_id)
    assert found is not None, element_id
    return (found[1].get("aria-describedby") or "").split()


def _every_description_exists(tags: _Tags) -> None:
    for _, attrs in tags.tags:
        for element_id in (attrs.get("aria-describedby") or "").split():
            assert tags.by_id(element_id) is not None, element_id


def _autofocused(tags: _Tags) -> list[str | None]:
    return [attrs.get("id") or attrs.get("value") for _, attrs in tags.tags if "autofocus" in attrs]


@pytest.mark.django_db
def test_a_missing_country_is_described_by_its_error_and_focused(client, service):
    tags = _report(client, country="")
    assert _described_by(tags, "id_country") == ["id_country_error"]
    assert tags.by_id("id_country")[1]["aria-invalid"] == "true"
    assert _autofocused(tags) == ["id_country"]
    _every_description_exists(tags)


@pytest.mark.django_db
def test_the_comments_help_is_read_with_the_comment(client, service):
    page = client.get("/services/acme/").content.decode()
    tags = _Tags(page)
    assert _described_by(tags, "id_comment") == ["id_comment_helptext"]
    assert _described_by(tags, "id_subdivision") == ["id_subdivision_helptext"]
    assert 'id="id_comment_helptext">Shown on this page to everyone' in page
    assert _autofocused(tags) == []
    _every_description_exists(tags)


@pytest.mark.django_db
def test_a_too_long_comment_is_described_by_its_error_and_focused(client, service):
    tags = _report(client, comment="x" * (settings.REPORT_COMMENT_MAX_LENGTH + 1))
    assert _described_by(tags, "id_comment") == ["id_comment_error", "id_comment_helptext"]
    assert _autofocused(tags) == ["id_comment"]
    _every_description_exists(tags)


@pytest.mark.django_db
def test_only_the_first_field_in_error_is_focused(client, service):
    tags = _report(client, country="", comment="x" * (settings.REPORT_COMMENT_MAX_LENGTH + 1))
    assert _autofocused(tags) == ["id_country"]
    assert "id_comment_error" in _described_by(tags, "id_comment")
    _every_description_exists(tags)


@pytest.mark.django_db
def test_an_unknown_problem_focuses_the_first_problem_button(client, service):
    tags = _report(client, problem="nonsense")
    first_button = next(a for t, a in tags.tags if t == "button" and a.get("name") == "problem")
    assert _autofocused(tags) == [first_button["value"]]
    fieldset = next(a for t, a in tags.tags if t == "fieldset")
    assert fieldset["aria-describedby"] == "id_problem_error"
    _every_description_exists(tags)


@pytest.mark.django_db
def test_a_failed_report_keeps_what_was_typed(client, service):
    response = client.post(
        "/services/acme/",
        {"problem": "nonsense", "country": "FR", "subdivision": "Paris", "comment": "a <b>"},
    )
    html = response.content.decode()
    assert '<option value="FR" selected>' in html
    assert 'value="Paris"' in html
    assert "a &lt;b&gt;</textarea>" in html


# --- F8, F9: words ------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_outage_everywhere_says_so_in_the_outage_tables(client, service):
    outage_make(service, countries=())
    for path in ("/outages/", "/services/acme/"):
        cell = re.search(
            r'<td data-label="Countries">(.*?)</td>', client.get(path).content.decode(), re.S
        )
        assert cell is not None and cell.group(1) == "Everywhere", path


@pytest.mark.django_db
def test_the_live_chart_names_its_span(client, service):
    html = client.get("/services/acme/").content.decode()
    assert f"Reports about Acme Cloud each minute, last {LIVE_HOURS} hours" in html
    assert "last hours" not in html


def test_narrow_chart_labels_stay_readable_on_the_smallest_phone():
    # The narrow drawing (340 wide) is shown 254 px wide on a 320 px phone: 12.5 px labels
    # came out at 9.3 px (pages tester F23).
    from detection.charts import NARROW

    size = float(re.search(r"\.chart-narrow \.chart-label \{ font-size: ([\d.]+)px", CSS)[1])
    assert size * 254 / NARROW["width"] >= 11


def test_problem_descriptions_are_written_out_and_describe_their_buttons(client, service):
    # Only a tooltip (title) said what a problem means: never shown on a touch screen, and
    # unreliable for screen readers (pages tester F24).
    page = client.get(f"/services/{service.slug}/").content.decode()
    buttons = re.findall(r'<button type="submit" name="problem"[^>]*>', page)
    assert buttons
    for button in buttons:
        slug = re.search(r'value="([^"]+)"', button)[1]
        assert f'aria-describedby="problem-{slug}-help"' in button
        assert f'<dd id="problem-{slug}-help">' in page
    assert "<summary>What each one means</summary>" in page


# --- Names and titles (accessibility tester F6, F7, forty-fifth session) -----------------------


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


@pytest.mark.django_db
def test_each_outage_details_link_names_its_outage(client, service, midday):
    # Nine links all named "Details" read alike in a screen reader's list of links.
    from datetime import timedelta

    now = midday.replace(second=0)
    for days in (1, 2, 3):
        start = now - timedelta(days=days)
        outage_make(service, started_at=start, resolved_at=start + timedelta(hours=1))
    page = client.get("/outages/").content.decode()
    names = [_text(m) for m in re.findall(r'<a href="/outages/\d+/">(.*?)</a>', page, re.S)]
    assert len(names) == 3 and len(set(names)) == 3
    assert all(n.startswith("Details of the Acme Cloud outage that started ") for n in names)


@pytest.mark.django_db
def test_repeated_landmarks_have_names_of_their_own(client, service):
    home = client.get("/").content.decode()
    searches = re.findall(r'<form[^>]*role="search"[^>]*>', home)
    labels = [re.search(r'aria-label="([^"]+)"', form).group(1) for form in searches]
    assert len(labels) == 2 and len(set(labels)) == 2
    page = client.get("/services/acme/").content.decode()
    navs = re.findall(r"<nav[^>]*>", page)
    assert len(navs) >= 2
    names = [re.search(r'aria-label="([^"]+)"', nav).group(1) for nav in navs]
    assert len(set(names)) == len(names)


@pytest.mark.django_db
def test_titles_say_when_a_form_failed_and_what_a_search_found(client, service):
    def title(response) -> str:
        return re.search(r"<title>(.*?)</title>", response.content.decode(), re.S).group(1)

    failed = client.post("/services/acme/", {"problem": "login", "country": ""})
    assert title(failed).startswith("Error: Acme Cloud down?")
    assert not title(client.get("/services/acme/")).startswith("Error")
    assert title(client.get("/", {"q": "acme"})) == "Services matching “acme” · OutageWatch"
    assert title(client.get("/")) == "Is it down? · OutageWatch"


def test_the_plain_bad_request_page_is_titled_with_the_site():
    from outagewatch.http.errors import bad_request_page

    page = bad_request_page("Try again.").content.decode()
    assert "<title>Bad request · OutageWatch</title>" in page
