"""No subscription link's token in the log: the link is the credential."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

TOKEN = "eyJzIjo1NywiaCI6ImUwZjg3ZDZj:1xaG3J:iK7M7e3h0owg0_TAkk"


def _console():
    (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    return handler


@pytest.mark.parametrize("kind", ["manage", "confirm", "unsubscribe"])
def test_a_refused_request_for_a_token_link_logs_no_token(caplog, kind):
    """Django logs the path of a CSRF refusal (and of every 4xx): a manage link in the log
    let whoever read it rotate a webhook's signing secret (security tester F5)."""
    path = f"/subscriptions/{kind}/{TOKEN}/"
    with caplog.at_level(logging.WARNING, logger="django"):
        response = Client(enforce_csrf_checks=True).post(path, {"action": "delete"})
    assert response.status_code in (400, 403)
    logged = [r for r in caplog.records if f"/subscriptions/{kind}/" in r.getMessage()]
    assert logged  # Django names the path
    console = _console()
    for record in logged:
        assert console.filter(record)
        line = console.format(record)
        assert TOKEN not in line and f"/subscriptions/{kind}/<token>/" in line
