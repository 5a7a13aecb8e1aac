"""The subscribe form's address opened with GET (its error page shared, reopened, or a phone
restoring a tab): the service page's form, never a blank 405 (pages tester F13)."""

from __future__ import annotations

import pytest

from alerts.models import Subscription

pytestmark = pytest.mark.django_db


def test_get_redirects_to_the_service_pages_form(client, service):
    response = client.get("/services/acme/subscribe/")
    assert response.status_code == 302
    assert response["Location"] == "/services/acme/#subscribe"
    assert Subscription.objects.count() == 0


def test_following_the_redirect_shows_the_form(client, service):
    response = client.get("/services/acme/subscribe/", follow=True)
    assert response.status_code == 200
    assert 'id="subscribe"' in response.content.decode()


def test_head_redirects_too(client, service):
    assert client.head("/services/acme/subscribe/").status_code == 302


def test_get_of_an_unknown_service_is_404(client, service):
    assert client.get("/services/nope/subscribe/").status_code == 404


def test_other_methods_are_still_refused(client, service):
    assert client.put("/services/acme/subscribe/").status_code == 405


def test_the_error_page_title_says_it_has_errors(client, service):
    response = client.post("/services/acme/subscribe/", {"email": "not-an-email"})
    assert response.status_code == 400
    assert "<title>Error: Alerts for Acme Cloud · OutageWatch</title>" in response.content.decode()
