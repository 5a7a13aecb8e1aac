from __future__ import annotations

import json

import pytest

from reports.models import Report

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/"


def post(client, body, **extra):
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(URL, data=payload, content_type="application/json", **extra)


def valid(**overrides):
    return {"service": "acme", "problem": "login", "country": "DE", **overrides}


def test_valid_report_returns_201_with_id_and_timestamp(api_client, service):
    response = post(api_client, valid(subdivision="DE-BE", comment="Login spins forever"))
    assert response.status_code == 201, response.content
    body = response.json()
    report = Report.objects.get(pk=body["id"])
    assert body["created_at"].startswith(report.created_at.strftime("%Y-%m-%dT%H:%M"))
    assert body["counted"] is True
    assert (report.service, report.problem.slug, report.country) == (service, "login", "DE")
    assert (report.subdivision, report.comment, report.source) == (
        "DE-BE",
        "Login spins forever",
        "api",
    )


def test_codes_are_normalised(api_client, service):
    response = post(
        api_client, valid(service="ACME", problem="Login", country="de", subdivision="de-by")
    )
    assert response.status_code == 201
    assert (response.json()["country"], response.json()["subdivision"]) == ("DE", "DE-BY")


def test_second_report_from_same_client_says_it_was_not_counted(api_client, service):
    assert post(api_client, valid()).json()["counted"] is True
    second = post(api_client, valid(problem="app"))
    assert second.status_code == 201
    assert second.json()["counted"] is False
    assert "count once every 15 minutes" in second.json()["message"]
    assert Report.objects.filter(counted=True).count() == 1


def test_a_retried_post_is_stored_but_neither_counted_nor_shown_again(api_client, service):
    # What README says a retry (after a timeout) does: there is no idempotency key, so it
    # must not add to the signal or repeat the comment.
    body = valid(comment="Login spins forever")
    assert post(api_client, body).json()["counted"] is True
    retried = post(api_client, body)
    assert retried.status_code == 201 and retried.json()["counted"] is False
    assert Report.objects.count() == 2
    comments = api_client.get("/api/v1/services/acme/comments/").json()["results"]
    assert [comment["text"] for comment in comments] == ["Login spins forever"]


@pytest.mark.parametrize(
    "ipv6",
    [
        "2002:cb00:713c::1",  # 6to4 (RFC 3056): every IPv4 address owns 2002:<it>::/48
        "2002:cb00:713c:ff::2",
        "2001:0:4136:e378:8000:63bf:34ff:8ec3",  # Teredo (RFC 4380): its public IPv4, inverted
        "64:ff9b::cb00:713c",  # NAT64's well-known prefix (RFC 6052)
    ],
)
def test_one_ipv4_host_counts_once_however_it_speaks_ipv6(api_client, service, midday, ipv6):
    # One host at 203.0.113.60 sending from its 6to4 /48 too was another site: two counted
    # reports per service per dedup window, and one more site towards a country's series and
    # the outage gates (abuse tester, fiftieth session).
    assert post(api_client, valid(), REMOTE_ADDR="203.0.113.60").json()["counted"] is True
    again = post(api_client, valid(problem="app"), REMOTE_ADDR=ipv6)
    assert again.status_code == 201
    assert again.json()["counted"] is False
    assert Report.objects.filter(counted=True).count() == 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (valid(service="nope"), "service", "Unknown service"),
        (valid(problem="payments"), "problem", "does not offer problem"),
        (valid(country="XX"), "country", "not an ISO 3166-1"),
        (valid(country="DEU"), "country", "not an ISO 3166-1"),
        (valid(country="ß"), "country", "not an ISO 3166-1"),  # upper-cased: "SS", South Sudan
        (valid(subdivision="DE-XX"), "subdivision", "not an ISO 3166-2"),
        (valid(subdivision="FR-75C"), "subdivision", "is not in country DE"),
        (valid(comment="x" * 281), "comment", "no more than 280"),
        (valid(country=49), "country", "Must be a string"),
        (valid(problem=None), "problem", "may not be null"),
        (valid(comment=["a"]), "comment", "Must be a string"),
        (valid(comment="red \x1b[31malert"), "comment", "control characters"),
        (valid(comment="abc\u202edcba"), "comment", "text-direction overrides"),
        (valid(reporter="me"), "reporter", "Unknown field"),
        ({"problem": "login", "country": "DE"}, "service", "required"),
        ({"service": "acme", "country": "DE"}, "problem", "required"),
        ({"service": "acme", "problem": "login"}, "country", "required"),
    ],
)
def test_bad_input_gets_400_with_a_message_for_the_field(api_client, service, body, field, message):
    response = post(api_client, body)
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["code"] == "invalid"
    assert any(message in m for m in payload["fields"][field]), payload
    assert Report.objects.count() == 0


def test_all_field_errors_are_reported_together(api_client, service):
    response = post(api_client, {"service": "acme", "problem": 1, "country": "ZZ", "extra": True})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"problem", "country", "extra"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        # A problem the service does not offer, beside a field that is itself invalid.
        (valid(problem="landline", country="XX"), {"problem", "country"}),
        (valid(problem="landline", comment="x" * 281), {"problem", "comment"}),
        # A subdivision outside its (valid) country, beside another invalid field.
        (valid(subdivision="FR-75C", service="nosuch"), {"subdivision", "service"}),
        (valid(subdivision="FR-75C", problem="landline"), {"subdivision", "problem"}),
        (valid(subdivision="DE-XX", comment=["a"]), {"subdivision", "comment"}),
        # What cannot be checked is not guessed at: no country to hold the subdivision, no
        # service to offer the problem.
        (valid(subdivision="FR-75C", country="XX"), {"country"}),
        (valid(problem="landline", service="nosuch"), {"service"}),
    ],
)
def test_cross_field_errors_are_listed_with_the_other_invalid_fields(
    api_client, service, body, fields
):
    response = post(api_client, body)
    assert response.status_code == 400, response.content
    assert set(response.json()["fields"]) == fields


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[1, 2]", "Invalid data. Expected a dictionary, but got list."),
        ('"just a string"', "Invalid data. Expected a dictionary, but got str."),
        ("null", "No data provided"),
    ],
)
def test_json_that_is_not_an_object_gets_400(api_client, service, body, message):
    response = post(api_client, body)
    assert response.status_code == 400
    assert response.json()["fields"] == {"non_field_errors": [message]}
    assert Report.objects.count() == 0


def test_malformed_json_gets_400(api_client, service):
    response = post(api_client, '{"service": "acme",')
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert "JSON parse error" in response.json()["detail"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_body_that_is_not_json_gets_415(api_client, service, content_type):
    response = api_client.post(URL, data="service=acme", content_type=content_type)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert Report.objects.count() == 0


def test_oversized_body_gets_413(api_client, service, settings):
    body = json.dumps(valid(comment="x" * (settings.API_MAX_BODY_BYTES + 10)))
    response = post(api_client, body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert Report.objects.count() == 0


def test_inactive_service_is_unknown(api_client, make_service):
    make_service("retired", is_active=False)
    response = post(api_client, valid(service="retired"))
    assert response.status_code == 400
    assert "service" in response.json()["fields"]


def test_get_is_not_allowed(api_client, service):
    response = api_client.get(URL)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_each_request_validates_with_fields_of_its_own(service):
    """The report serializer copies its declared fields shallowly (CopiedFieldsMixin): each
    instance still binds and validates its own, and the class's stay unbound."""
    from reports.api.serializers import ReportCreateSerializer

    first = ReportCreateSerializer(data=valid(comment="x" * 5000))
    second = ReportCreateSerializer(data=valid(comment="short"))
    assert not first.is_valid() and "comment" in first.errors
    assert second.is_valid(), second.errors
    for name, field in first.fields.items():
        declared = ReportCreateSerializer._declared_fields[name]
        assert field is not second.fields[name] and field is not declared
        assert field.parent is first and second.fields[name].parent is second
        assert field.validators is not second.fields[name].validators
        assert declared.field_name is None and getattr(declared, "parent", None) is None


@pytest.mark.parametrize("text", ["\ufeff", " \u200b \n", "\u2060", "\u3164\u3164", "\u2800"])
def test_a_comment_of_only_invisible_characters_is_no_comment(api_client, service, text):
    response = post(api_client, valid(comment=text))
    assert response.status_code == 201
    assert Report.objects.get().comment == ""


def test_a_line_break_counts_one_character_however_it_is_written(api_client, service, settings):
    lines = ["x" * 9] * 28  # 28 x 9 letters and 27 breaks: 279 characters
    for newline in ("\n", "\r\n", "\r"):
        Report.objects.all().delete()
        response = post(api_client, valid(comment=newline.join(lines)))
        assert response.status_code == 201, newline
        assert Report.objects.get().comment == "\n".join(lines)


def test_a_comment_keeps_its_line_breaks_and_other_scripts(api_client, service):
    text = "Login fails\nЛогин не работает\tログインできない 🙁"
    assert post(api_client, valid(comment=text)).status_code == 201
    assert Report.objects.get().comment == text
