"""Kosovo ("XK": not assigned by ISO, but used by CDNs and the EU) is a country like any other."""

from __future__ import annotations

import json

import pytest

from alerts.forms import SubscribeForm
from detection.clocks import country_zone
from detection.presentation import country_name
from reports.geo import country_choices, country_lookup
from reports.models import Report

pytestmark = pytest.mark.django_db


def test_the_api_stores_a_report_from_kosovo(api_client, service):
    body = {"service": "acme", "problem": "login", "country": "xk"}
    response = api_client.post(
        "/api/v1/reports/", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert Report.objects.get().country == "XK"


@pytest.mark.parametrize("typed", ["Kosovo", "kosovo", "XK", "XKX"])
def test_the_report_form_takes_kosovo_by_name_or_code(client, service, typed):
    response = client.post("/services/acme/", {"problem": "login", "country": typed})
    assert response.status_code == 302
    assert Report.objects.get().country == "XK"


def test_the_form_lists_kosovo_and_a_cdn_header_preselects_it(client, service):
    html = client.get("/services/acme/", HTTP_CF_IPCOUNTRY="XK").content.decode()
    assert '<option value="XK" selected>Kosovo</option>' in html
    assert ("XK", "Kosovo") in country_choices()


def test_followers_can_name_kosovo():
    form = SubscribeForm(data={"email": "x@example.com", "countries": "Kosovo, Germany"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["countries"] == ["DE", "XK"]


def test_its_name_and_clock():
    assert country_lookup("Kosovo") == "XK"
    assert country_name("XK") == "Kosovo"
    assert country_zone("XK") == "Europe/Belgrade"
