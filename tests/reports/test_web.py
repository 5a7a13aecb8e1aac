from __future__ import annotations

import json

import pytest
from django.test import Client

from reports.models import Report

pytestmark = pytest.mark.django_db


def test_home_lists_services_by_category(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "AI assistants" in html and "ChatGPT" in html and "Gaming" in html


def test_home_search_by_name(client):
    html = client.get("/", {"q": "slack"}).content.decode()
    assert 'href="/services/slack/"' in html
    assert 'href="/services/chatgpt/"' not in html


def test_home_search_without_match_says_so(client):
    html = client.get("/", {"q": "zzzz-nothing"}).content.decode()
    assert "No service matches" in html


def test_service_page_has_one_button_per_problem_and_csrf(client, service):
    html = client.get("/services/acme/").content.decode()
    assert "Report a problem with Acme Cloud" in html
    for slug in ("login", "website", "app"):
        assert f'name="problem" value="{slug}"' in html
    assert "csrfmiddlewaretoken" in html


def test_country_is_not_guessed_from_the_browser_language(client, service):
    # "en-US" is most English-language browsers' default wherever they are: a silent guess
    # made one click a report from the wrong country.
    for language in ("de-DE,de;q=0.9", "en-US,en;q=0.9"):
        html = client.get("/services/acme/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        select = html.split('<select name="country"', 1)[1].split("</select>")[0]
        assert select.count(" selected>") == 1
        assert '<option value="" selected>Choose your country</option>' in select


def test_country_is_preselected_from_a_proxy_header(client, service):
    html = client.get("/services/acme/", HTTP_CF_IPCOUNTRY="FR").content.decode()
    assert '<option value="FR" selected>' in html


def test_unknown_service_page_is_404(client):
    assert client.get("/services/does-not-exist/").status_code == 404


def test_report_form_stores_report_and_confirms(client, service):
    response = client.post(
        "/services/acme/",
        {"problem": "login", "country": "DE", "subdivision": "DE-BE"},
        follow=True,
    )
    assert response.status_code == 200
    assert "was counted" in response.content.decode()
    report = Report.objects.get()
    assert (report.source, report.country, report.subdivision) == ("web", "DE", "DE-BE")
    assert response.redirect_chain[-1][0].endswith("/services/acme/#report")


def test_second_report_is_confirmed_as_counted_once(client, service):
    client.post("/services/acme/", {"problem": "login", "country": "DE"})
    response = client.post("/services/acme/", {"problem": "app", "country": "DE"}, follow=True)
    assert "count once every 15 minutes" in response.content.decode()
    assert list(Report.objects.values_list("counted", flat=True).order_by("id")) == [True, False]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"problem": "login"}, "Choose your country."),
        ({"country": "DE"}, "Choose what is not working."),
        ({"problem": "payments", "country": "DE"}, "with one of the buttons: App, Login"),
        ({"problem": "login", "country": "XX"}, "We do not know a country called “XX”"),
        (
            {"problem": "login", "country": "DE", "comment": "x" * 281},
            "Comments can be up to 280 characters; yours has 281.",
        ),
    ],
)
def test_bad_form_input_shows_a_readable_error_and_stores_nothing(client, service, data, message):
    response = client.post("/services/acme/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Report.objects.count() == 0


def test_form_requires_csrf_token(service):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/services/acme/", {"problem": "login", "country": "DE"})
    assert response.status_code == 403
    assert Report.objects.count() == 0
    # The site's own page in plain words, not Django's about the Referer header.
    page = response.content.decode()
    assert "<h1>Please try again</h1>" in page and "Nothing was saved." in page
    assert "Referer" not in page and "CSRF" not in page


def test_a_csrf_failure_under_the_api_is_json(rf):
    from outagewatch.http.errors import csrf_failure

    response = csrf_failure(rf.post("/api/v1/anything/"), reason="Referer checking failed")
    assert response.status_code == 403
    assert json.loads(response.content) == {
        "detail": "Forbidden: the request's CSRF check failed.",
        "code": "csrf_failed",
    }


def test_static_assets_are_served_locally(client):
    html = client.get("/").content.decode()
    assert "/static/css/site.css" in html
    assert "http://" not in html.split("<body")[0].replace("http://127.0.0.1", "")
