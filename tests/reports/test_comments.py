"""Comments: shown newest first as plain text, moderated, in the API without personal data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory

from detection.models import Outage
from reports import services
from reports.admin import ReportAdmin
from reports.models import COMMENT_HIDE_AFTER_FLAGS, CommentFlag, Report
from tests.conftest import crowd_address

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def _report(service, text, *, minutes=0, counted=True, address="11.0.0.1"):
    created = services.report_create(
        service=service,
        problem=service.problem_types.get(slug="login"),
        country="DE",
        comment=text,
        source=Report.Source.WEB,
        address=address,
        now=T0 + dt.timedelta(minutes=minutes),
    )
    if not counted:
        Report.objects.filter(pk=created.report.pk).update(counted=False)
    return created.report


def test_service_page_shows_counted_comments_newest_first_as_plain_text(client, service):
    _report(service, "older comment", minutes=0, address=crowd_address(1))
    _report(service, "see <b>http://evil.example</b>", minutes=5, address=crowd_address(2))
    _report(service, "uncounted comment", minutes=6, address=crowd_address(2), counted=False)
    html = client.get("/services/acme/").content.decode()
    assert html.index("http://evil.example") < html.index("older comment")
    assert "uncounted comment" not in html
    assert "&lt;b&gt;http://evil.example&lt;/b&gt;" in html
    assert 'href="http://evil.example"' not in html
    assert html.count("Report abuse") == 2


def test_a_comment_is_laid_out_in_its_own_direction(client, service):
    # A Hebrew or Arabic comment was laid out left to right: its end punctuation and
    # brackets on the wrong side (text tester, forty-sixth session).
    _report(service, "האפליקציה לא נטענת (שוב)!", minutes=0, address=crowd_address(1))
    html = client.get("/services/acme/").content.decode()
    assert '<p class="comment-text" dir="auto">האפליקציה לא נטענת (שוב)!</p>' in html


def test_outage_page_shows_only_comments_written_during_the_outage(client, service):
    _report(service, "before it began", minutes=0, address=crowd_address(1))
    _report(service, "during the outage", minutes=20, address=crowd_address(2))
    outage = Outage.objects.create(
        service=service,
        status=Outage.Status.RESOLVED,
        started_at=T0 + dt.timedelta(minutes=10),
        detected_at=T0 + dt.timedelta(minutes=12),
        resolved_at=T0 + dt.timedelta(minutes=30),
    )
    html = client.get(f"/outages/{outage.pk}/").content.decode()
    assert "during the outage" in html
    assert "before it began" not in html


def test_flag_is_counted_once_per_network_and_confirmed_at_the_comments(client, service):
    report = _report(service, "rude words")
    url = f"/services/acme/comments/{report.pk}/flag/"
    first = client.post(url, {"next": "/services/acme/"}, REMOTE_ADDR="12.1.1.1")
    assert first.status_code == 302
    assert first["Location"] == "/services/acme/#comments"
    client.post(url, REMOTE_ADDR="12.1.1.2")  # the same /24 network
    report.refresh_from_db()
    assert report.comment_flags == 1
    assert CommentFlag.objects.count() == 1
    html = client.get("/services/acme/").content.decode()
    comments = html[html.index('id="comments"') :]
    assert "already reported from your network" in comments
    assert "already reported from your network" not in html[: html.index('id="comments"')]


def test_enough_flags_take_a_comment_off_the_pages_and_the_api(client, service, api_client):
    report = _report(service, "spam spam")
    assert "spam spam" in client.get("/services/acme/").content.decode()
    [shown] = api_client.get("/api/v1/services/acme/comments/").json()["results"]
    assert shown["text"] == "spam spam"
    for k in range(COMMENT_HIDE_AFTER_FLAGS):
        Client().post(f"/services/acme/comments/{report.pk}/flag/", REMOTE_ADDR=crowd_address(k))
    assert "spam spam" not in client.get("/services/acme/").content.decode()
    assert api_client.get("/api/v1/services/acme/comments/").json()["results"] == []


def test_flags_from_one_hosts_four_blocks_hide_nothing(client, service):
    """A dual-stack host with a tunnel broker's range and a phone reaches four blocks."""
    report = _report(service, "down here as well")
    for address in ("203.0.113.9", "198.51.100.9", "2001:db8:1::9", "2a02:db8:2::9"):
        Client().post(f"/services/acme/comments/{report.pk}/flag/", REMOTE_ADDR=address)
    report.refresh_from_db()
    assert report.comment_flags == 4
    assert "down here as well" in client.get("/services/acme/").content.decode()


def test_flags_from_one_customer_s_range_hide_nothing(client, service):
    # Three /56 networks of one IPv6 /48 (one customer, or one free tunnel) hid any comment.
    report = _report(service, "the app is down for me too")
    for subnet in ("100", "200", "300"):
        Client().post(
            f"/services/acme/comments/{report.pk}/flag/", REMOTE_ADDR=f"2001:db8:aa:{subnet}::1"
        )
    report.refresh_from_db()
    assert CommentFlag.objects.filter(report=report).count() == 3
    assert report.comment_flags == 1
    assert "the app is down for me too" in client.get("/services/acme/").content.decode()


def test_flag_is_throttled_and_changes_nothing_then(client, service, throttle_rate):
    throttle_rate("comment-flags", "1/hour")
    report = _report(service, "rude words")
    other = _report(service, "more rude words", minutes=1, address=crowd_address(5))
    client.post(f"/services/acme/comments/{report.pk}/flag/", REMOTE_ADDR="12.1.1.1")
    response = client.post(
        f"/services/acme/comments/{other.pk}/flag/", REMOTE_ADDR="12.1.1.1", follow=True
    )
    assert "too fast" in response.content.decode()
    other.refresh_from_db()
    assert other.comment_flags == 0


def test_flag_of_unknown_comment_or_other_service_is_404(client, service, make_service):
    report = _report(service, "hello")
    make_service("other", "Other")
    assert client.post(f"/services/other/comments/{report.pk}/flag/").status_code == 404
    assert client.post("/services/acme/comments/999999/flag/").status_code == 404
    assert client.get(f"/services/acme/comments/{report.pk}/flag/").status_code == 405


def test_flag_ignores_a_next_address_on_another_site(client, service):
    report = _report(service, "hello")
    response = client.post(
        f"/services/acme/comments/{report.pk}/flag/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/services/acme/#comments"


def test_admin_action_hides_and_shows_comments(client, service, admin_user):
    report = _report(service, "hide me")
    model_admin = ReportAdmin(Report, site)
    request = RequestFactory().post("/admin/")
    request.user = admin_user
    model_admin.message_user = lambda *args, **kwargs: None
    model_admin.hide_comments(request, Report.objects.filter(pk=report.pk))
    assert "hide me" not in client.get("/services/acme/").content.decode()
    model_admin.show_comments(request, Report.objects.filter(pk=report.pk))
    assert "hide me" in client.get("/services/acme/").content.decode()


def test_api_lists_comments_newest_first_without_personal_data(api_client, service):
    _report(service, "first", minutes=0, address=crowd_address(1))
    _report(service, "second", minutes=1, address=crowd_address(2))
    _report(service, "third", minutes=2, address=crowd_address(3))
    _report(service, "", minutes=3, address=crowd_address(4))
    page = api_client.get("/api/v1/services/acme/comments/", {"page_size": 2}).json()
    assert [row["text"] for row in page["results"]] == ["third", "second"]
    assert set(page["results"][0]) == {"id", "created_at", "problem", "country", "text"}
    assert page["results"][0]["problem"] == "login"
    rest = api_client.get(page["next"]).json()
    assert [row["text"] for row in rest["results"]] == ["first"]


def test_api_comment_page_links_are_under_site_url_whatever_the_host(api_client, service, settings):
    settings.SITE_URL = "https://outages.example"
    settings.ALLOWED_HOSTS = ["testserver", "internal.example"]
    _report(service, "first", minutes=0, address=crowd_address(1))
    _report(service, "second", minutes=1, address=crowd_address(2))
    url = "/api/v1/services/acme/comments/"
    page = api_client.get(url, {"page_size": 1}, HTTP_HOST="internal.example").json()
    assert page["next"].startswith(f"https://outages.example{url}?cursor=")


def test_api_comments_of_unknown_service_is_404(api_client, db):
    assert api_client.get("/api/v1/services/nope/comments/").status_code == 404


def test_comments_are_in_the_openapi_schema(api_client, db):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/services/{slug}/comments/" in schema
