"""The report and catalog admin as the operator on duty uses it: moderating comments, finding
a report, editing the catalog, without a slip that loses history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports import services
from reports.models import COMMENT_HIDE_AFTER_FLAGS, CommentFlag, Report
from tests.conftest import crowd_address

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 25, 11, 50, tzinfo=dt.UTC)
CHANGELIST = "/admin/reports/report/"


def _report(service, text="", *, minutes=0, address="11.0.0.1", problem="login"):
    return services.report_create(
        service=service,
        problem=service.problem_types.get(slug=problem),
        country="DE",
        comment=text,
        source=Report.Source.WEB,
        address=address,
        now=T0 + dt.timedelta(minutes=minutes),
    ).report


def _act(admin_client, action: str, *reports: Report):
    body = {"action": action, "_selected_action": [r.pk for r in reports], "index": 0}
    return admin_client.post(CHANGELIST, body, follow=True)


def test_a_hidden_comment_leaves_the_page_and_the_api_at_once_and_comes_back(
    admin_client, client, api_client, service, midday
):
    abusive = _report(service, "you are all idiots", address=crowd_address(1))
    _report(service, "login loops since noon", minutes=1, address=crowd_address(2))
    page, api = f"/services/{service.slug}/", f"/api/v1/services/{service.slug}/comments/"
    assert "you are all idiots" in client.get(page).content.decode()
    first = api_client.get(api)
    assert "you are all idiots" in first.content.decode()
    CommentFlag.objects.create(report=abusive, reporter_key="n1", block_key="b1", created_at=T0)
    Report.objects.filter(pk=abusive.pk).update(comment_flags=1)

    assert "1 comments hidden." in _act(admin_client, "hide_comments", abusive).content.decode()

    assert "you are all idiots" not in client.get(page).content.decode()
    assert "login loops since noon" in client.get(page).content.decode()
    # A client revalidating the list it holds gets the new list, not a 304.
    again = api_client.get(api, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and "you are all idiots" not in again.content.decode()

    _act(admin_client, "show_comments", abusive)
    assert "you are all idiots" in client.get(page).content.decode()
    assert not CommentFlag.objects.filter(report=abusive).exists()
    # Who did it and when, in the report's history as an edit would be.
    history = admin_client.get(f"{CHANGELIST}{abusive.pk}/history/").content.decode()
    assert "Comment hidden." in history and "Comment shown again" in history
    assert admin_client.get(CHANGELIST).wsgi_request.user.username in history


def test_the_operator_sees_a_comment_s_flags_and_filters_the_hidden_ones(
    admin_client, service, midday
):
    flagged = _report(service, "spam spam", address=crowd_address(1))
    CommentFlag.objects.create(report=flagged, reporter_key="n1", block_key="b1", created_at=T0)
    Report.objects.filter(pk=flagged.pk).update(comment_flags=1, comment_hidden=True)
    _report(service, "fine comment", minutes=1, address=crowd_address(2))

    hidden = admin_client.get(CHANGELIST, {"comment_hidden__exact": "1"}).content.decode()
    assert "spam spam" in hidden and "fine comment" not in hidden
    change = admin_client.get(f"{CHANGELIST}{flagged.pk}/change/").content.decode()
    assert "spam spam" in change and "Comment flags" in change


def test_an_operator_finds_a_report_by_its_id_through_the_primary_key(
    admin_client, service, midday
):
    """A report's id (from a log line, a support mail) typed in the search box: before, no
    search field matched a number, and the box answered with nothing."""
    wanted = _report(service, "the one", address=crowd_address(1))
    _report(service, f"mentions {wanted.pk} in its text", minutes=1, address=crowd_address(2))
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(CHANGELIST, {"q": str(wanted.pk)})
    assert list(page.context["cl"].result_list) == [wanted]
    listing = next(
        q["sql"] for q in queries if "ORDER BY" in q["sql"] and "reports_report" in q["sql"]
    )
    assert "LIKE" not in listing.upper()  # the primary key's index, not a scan of the comments


@pytest.mark.parametrize("term", ["99999999999999999999", "²", "-1"])
def test_a_number_past_any_id_finds_nothing_without_an_error(admin_client, service, term):
    page = admin_client.get(CHANGELIST, {"q": term})
    assert page.status_code == 200 and list(page.context["cl"].result_list) == []


def test_an_operator_finds_a_service_s_reports_by_its_slug_or_name(
    admin_client, make_service, midday
):
    acme, other = make_service("acme", "Acme Cloud"), make_service("zeta", "Zeta Mail")
    ours = _report(acme, "acme is down", address=crowd_address(1))
    _report(other, "zeta is down", address=crowd_address(2))
    for term in ("acme", "Acme Cloud"):
        page = admin_client.get(CHANGELIST, {"q": term})
        assert list(page.context["cl"].result_list) == [ours]


def test_reports_cannot_be_deleted_from_the_admin(admin_client, service, midday):
    """A report is the evidence an outage rests on: its deletion takes its flags with it and
    leaves the buckets, the outage's counts and the alerts sent disagreeing with the rows."""
    report = _report(service, "a comment", address=crowd_address(1))
    assert admin_client.get(f"{CHANGELIST}{report.pk}/delete/").status_code == 403
    body = {"action": "delete_selected", "_selected_action": [report.pk], "post": "yes"}
    admin_client.post(CHANGELIST, body)
    assert Report.objects.filter(pk=report.pk).exists()
    actions = admin_client.get(CHANGELIST).context["action_form"].fields["action"].choices
    assert "delete_selected" not in dict(actions)


def test_no_address_appears_on_the_report_pages(admin_client, service, midday):
    report = _report(service, "down here", address="203.0.113.77")
    for url in (CHANGELIST, f"{CHANGELIST}{report.pk}/change/"):
        page = admin_client.get(url).content.decode()
        assert "down here" in page
        assert "203.0.113" not in page


def test_the_report_changelist_costs_the_same_queries_for_many_rows(
    admin_client, make_service, midday, django_assert_max_num_queries
):
    def one_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(CHANGELIST).status_code == 200
        return len(queries)

    _report(make_service("s0"), "x", address=crowd_address(0))
    few = one_page()
    for k in range(1, 30):
        _report(make_service(f"s{k}"), f"comment {k}", minutes=k % 5, address=crowd_address(k))
    with django_assert_max_num_queries(few):
        one_page()


def test_the_moderation_queues_hold_flagged_and_flagged_away_comments(
    admin_client, service, midday
):
    """A comment readers flagged away (COMMENT_HIDE_AFTER_FLAGS blocks) is off the pages with
    "comment hidden" still false: the hidden filter missed it, and nothing listed the
    flagged comments still shown, waiting for a moderator."""
    away = _report(service, "flagged away", address=crowd_address(1))
    Report.objects.filter(pk=away.pk).update(comment_flags=COMMENT_HIDE_AFTER_FLAGS)
    waiting = _report(service, "flagged once", minutes=1, address=crowd_address(2))
    Report.objects.filter(pk=waiting.pk).update(comment_flags=1)
    hidden = _report(service, "hidden by us", minutes=2, address=crowd_address(3))
    services.comment_hide(report_ids=[hidden.pk])
    _report(service, "nobody minds", minutes=3, address=crowd_address(4))

    def queue(value: str) -> set[str]:
        page = admin_client.get(CHANGELIST, {"moderation": value})
        return {r.comment for r in page.context["cl"].result_list}

    assert queue("flagged") == {"flagged once"}
    assert queue("off") == {"flagged away", "hidden by us"}
    listing = admin_client.get(CHANGELIST).context["cl"]
    shown = {r.comment: listing.model_admin.comment_shown(r) for r in listing.result_list}
    assert shown == {
        "flagged away": False,
        "flagged once": True,
        "hidden by us": False,
        "nobody minds": True,
    }


def test_a_service_links_to_its_reports_and_outages(admin_client, make_service, midday):
    from detection.models import Outage

    acme, other = make_service("acme", "Acme Cloud"), make_service("zeta", "Zeta Mail")
    ours = _report(acme, "acme is down", address=crowd_address(1))
    _report(other, "zeta is down", address=crowd_address(2))
    outage = Outage.objects.create(service=acme, started_at=T0, detected_at=T0)
    Outage.objects.create(service=other, started_at=T0, detected_at=T0)
    listing = admin_client.get("/admin/reports/service/", {"q": "acme"}).content.decode()
    for url, row in ((CHANGELIST, ours), ("/admin/detection/outage/", outage)):
        assert f"{url}?service__id__exact={acme.pk}" in listing
        page = admin_client.get(url, {"service__id__exact": acme.pk})
        assert list(page.context["cl"].result_list) == [row]
