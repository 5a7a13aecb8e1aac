"""Forms take country and region names; confirmations are shown at the form that was used."""

from __future__ import annotations

import pytest

from alerts.models import ConfirmationDelivery, Subscription
from reports.models import Report

pytestmark = pytest.mark.django_db


def _card(html: str, anchor: str) -> tuple[str, str]:
    """(the page before the card, the card and after)."""
    at = html.index(f'id="{anchor}"')
    return html[:at], html[at:]


@pytest.mark.parametrize("typed", ["Germany", "germany", "DE", "de", "DEU"])
def test_report_form_takes_country_names_and_codes(client, service, typed):
    response = client.post("/services/acme/", {"problem": "login", "country": typed})
    assert response.status_code == 302
    assert Report.objects.get().country == "DE"


@pytest.mark.parametrize("typed", ["Berlin", "berlin", "BE", "DE-BE"])
def test_report_form_takes_region_names_and_codes(client, service, typed):
    client.post("/services/acme/", {"problem": "login", "country": "Germany", "subdivision": typed})
    assert Report.objects.get().subdivision == "DE-BE"


def test_unknown_country_or_region_is_a_clear_error_and_stores_nothing(client, service):
    response = client.post("/services/acme/", {"problem": "login", "country": "Germny"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "We do not know a country called “Germny”" in html
    assert not Report.objects.exists()


def test_region_list_is_the_chosen_countrys(client, service):
    # No list rendered for the country of the page's load: report_form.js asks for the
    # chosen one's, and without JS it would stay the first one's.
    html = client.get("/services/acme/", HTTP_CF_IPCOUNTRY="DE").content.decode()
    assert '<datalist id="report-regions" data-regions-url="/regions/XX.json"></datalist>' in html
    regions = client.get("/regions/FR.json").json()
    assert regions["country"] == "FR"
    assert {"code": "FR-IDF", "name": "Île-de-France"} in regions["regions"]
    assert client.get("/regions/ZZ.json").status_code == 404


def test_report_confirmation_is_in_the_report_card(client, service):
    response = client.post("/services/acme/", {"problem": "login", "country": "DE"})
    assert response["Location"] == "/services/acme/#report"
    before, card = _card(client.get(response["Location"]).content.decode(), "report")
    assert "was counted" in card
    assert "was counted" not in before


def test_a_counted_report_says_when_the_counts_show_it(client, service, midday):
    # The counters are read from minute buckets, which the next minute's run fills: beside
    # "counted" they still say 0, so the confirmation says when they will not (F24).
    response = client.post("/services/acme/", {"problem": "login", "country": "DE"})
    _, card = _card(client.get(response["Location"]).content.decode(), "report")
    assert "was counted. It is added to the counts on this page within about a minute." in card
    # A report kept uncounted is not promised a place in the counts.
    response = client.post("/services/acme/", {"problem": "login", "country": "DE"})
    _, card = _card(client.get(response["Location"]).content.decode(), "report")
    assert "we stored your report" in card
    assert "within about a minute" not in card


def test_report_too_fast_and_errors_are_in_the_report_card(client, service, throttle_rate):
    before, card = _card(
        client.post("/services/acme/", {"country": "DE"}).content.decode(), "report"
    )
    assert "Your report was not sent" in card and "Choose what is not working" in card
    assert "Your report was not sent" not in before
    throttle_rate("reports", "1/min")
    client.post("/services/acme/", {"problem": "login", "country": "DE"})
    response = client.post("/services/acme/", {"problem": "login", "country": "DE"})
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    before, card = _card(response.content.decode(), "report")
    assert "too fast" in card and "too fast" not in before


def test_a_report_with_a_mistake_does_not_use_up_the_allowance(client, service, throttle_rate):
    throttle_rate("reports", "1/min")
    assert client.post("/services/acme/", {"country": "DE"}).status_code == 400
    assert client.post("/services/acme/", {"problem": "login", "country": "DE"}).status_code == 302


def test_a_report_for_a_service_retired_as_it_is_written_is_a_404(client, service, monkeypatch):
    from reports import services

    def retired(**kwargs):
        raise services.CatalogChanged("gone")

    monkeypatch.setattr(services, "report_create", retired)
    assert client.post("/services/acme/", {"problem": "login", "country": "DE"}).status_code == 404


def test_subscribe_confirmation_is_in_the_subscribe_card(client, service):
    response = client.post("/services/acme/subscribe/", {"email": "ann@example.com"})
    assert response["Location"] == "/services/acme/#subscribe"
    before, card = _card(client.get(response["Location"]).content.decode(), "subscribe")
    assert "a confirmation link is on its way" in card
    assert "data-placed-message" in card and "data-placed-message" not in before


def test_subscribe_takes_country_names(client, service):
    client.post(
        "/services/acme/subscribe/",
        {"email": "ann@example.com", "countries": "Germany, united kingdom"},
    )
    assert ConfirmationDelivery.objects.get().countries == ["DE", "GB"]


def test_subscribe_error_keeps_the_values_and_names_the_bad_country(client, service):
    response = client.post(
        "/services/acme/subscribe/", {"email": "ann@example.com", "countries": "Germany, Narnia"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="ann@example.com"' in html
    assert 'value="Germany, Narnia"' in html
    assert "Narnia" in html[html.index("subscribe-countries") :]
    assert not Subscription.objects.exists()


def test_a_comment_as_long_as_the_box_allows_is_taken_with_its_line_breaks(client, service):
    # The box counts a break as one character but the browser sends CRLF: 55 lines of 280
    # characters were "yours has 335" and the report was not sent (text tester, 46th session).
    typed = "line\n" * 55 + "xxxxx"
    assert len(typed) == 280
    response = client.post(
        "/services/acme/",
        {"problem": "login", "country": "DE", "comment": typed.replace("\n", "\r\n")},
    )
    assert response.status_code == 302
    assert Report.objects.get().comment == typed


def test_a_comment_with_control_characters_is_a_clear_error_and_stores_nothing(client, service):
    response = client.post(
        "/services/acme/", {"problem": "login", "country": "DE", "comment": "bell\x07 and \u202e"}
    )
    assert response.status_code == 400
    assert "Must not contain control characters" in response.content.decode()
    assert not Report.objects.exists()


def test_an_uncounted_reports_comment_is_said_not_to_be_shown(client, service, midday):
    # Only counted reports' comments are shown; the form promised "shown to everyone", and
    # a second report's comment was looked for in vain (newcomer tester, forty-ninth session).
    response = client.post("/services/acme/", {"problem": "login", "country": "DE"})
    response = client.post(
        "/services/acme/", {"problem": "login", "country": "DE", "comment": "Spins forever"}
    )
    page = client.get(response["Location"]).content.decode()
    _, card = _card(page, "report")
    assert "Its comment is kept but not shown" in card
    assert "Spins forever" not in page
    assert "if your report is counted" in page
