"""The report form as a visitor reads it: country order, the country guess, regions and the
words of its errors."""

from __future__ import annotations

import re

import pytest

from reports.geo import country_choices, name_sort_key, subdivision_choices
from reports.models import Report

pytestmark = pytest.mark.django_db


def _options(html: str) -> list[str]:
    select = re.search(r'<select name="country".*?</select>', html, re.S).group(0)
    return re.findall(r"<option value=\"[A-Z]{2}\"[^>]*>([^<]+)</option>", select)


# --- F13: names sorted as they read --------------------------------------------------------------


def test_country_names_sort_by_how_they_read():
    names = [name for _, name in country_choices()]
    assert names.index("Åland Islands") < names.index("Albania")
    costa, ivory, croatia = (names.index(n) for n in ("Costa Rica", "Côte d'Ivoire", "Croatia"))
    assert costa < ivory < croatia
    assert names[-1] == "Zimbabwe"


def test_sort_key_folds_accents_without_the_locale():
    assert name_sort_key("Åland Islands") == "aland islands"
    assert sorted(["Zimbabwe", "Éire", "Egypt"], key=name_sort_key) == ["Egypt", "Éire", "Zimbabwe"]


def test_region_names_sort_by_how_they_read():
    names = [name for _, name in subdivision_choices("FR")]
    assert names == sorted(names, key=name_sort_key)
    assert names.index("Île-de-France") < names.index("La Réunion")


def test_report_form_lists_aland_under_a(client, service):
    names = _options(client.get("/services/acme/").content.decode())
    assert names[0] == "Afghanistan" and names[1] == "Åland Islands"


# --- F20: no silent country guess from the browser's language -----------------------------------


def test_the_browsers_language_preselects_no_country(client, service):
    html = client.get("/services/acme/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<option value="US" selected>' not in html


def test_the_country_chosen_last_time_is_still_preselected(client, service):
    client.post("/services/acme/", {"problem": "login", "country": "FR"})
    html = client.get("/services/acme/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert '<option value="FR" selected>' in html


# --- F15: an unknown optional region does not lose the report ------------------------------------


def test_an_unknown_region_is_left_out_and_the_report_kept(client, service):
    response = client.post(
        "/services/acme/", {"problem": "login", "country": "DE", "subdivision": "bavaria"}
    )
    assert response.status_code == 302
    report = Report.objects.get()
    assert (report.country, report.subdivision) == ("DE", "")
    card = client.get(response["Location"]).content.decode()
    assert "We did not recognise “bavaria” as a region of Germany" in card
    assert "saved without a region" in card


def test_a_known_region_is_kept(client, service):
    client.post("/services/acme/", {"problem": "login", "country": "DE", "subdivision": "Bayern"})
    assert Report.objects.get().subdivision == "DE-BY"


def test_no_region_list_of_another_country_is_rendered(client, service):
    html = client.get("/services/acme/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    datalist = re.search(r'<datalist id="report-regions".*?</datalist>', html, re.S).group(0)
    assert "<option" not in datalist


# --- F4: errors in names, not codes -------------------------------------------------------------


def test_unknown_problem_error_lists_the_buttons_labels(client, service):
    response = client.post("/services/acme/", {"problem": "nonsense", "country": "DE"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose what is not working with one of the buttons: App, Login, Website." in html
    assert (
        "nonsense"
        not in html.split('id="report"', 1)[1].split("</fieldset>")[0].split("field-error")[-1]
    )


def test_long_comment_error_is_in_the_sites_words(client, service, settings):
    limit = settings.REPORT_COMMENT_MAX_LENGTH
    response = client.post(
        "/services/acme/", {"problem": "login", "country": "DE", "comment": "x" * (limit + 120)}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f"Comments can be up to {limit} characters; yours has {limit + 120}." in html
    assert "Ensure this value" not in html
    assert not Report.objects.exists()


def test_unknown_country_error_names_no_code_jargon(client, service):
    html = client.post("/services/acme/", {"problem": "login", "country": "Narnia"}).content
    assert "We do not know a country called “Narnia”" in html.decode()
