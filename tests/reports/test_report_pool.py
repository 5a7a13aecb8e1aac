"""A request that holds a pooled database connection gives it back before its report waits
for a batch's leader, which writes on a connection of its own (infra review F1)."""

from __future__ import annotations

import pytest
from django.db import connection

from reports import services
from reports.models import ProblemType


def _spy(monkeypatch, *, pooled: bool) -> list[str]:
    calls: list[str] = []
    pool = object() if pooled else None
    wrapper = type(connection._connections[connection._alias])
    monkeypatch.setattr(wrapper, "pool", property(lambda self: pool), raising=False)
    monkeypatch.setattr(connection, "close", lambda: calls.append("released"))
    submit = services._group_commit.submit
    monkeypatch.setattr(
        services._group_commit, "submit", lambda write: calls.append("waits") or submit(write)
    )
    return calls


def _report(service):
    return services.report_create(
        service=service,
        problem=ProblemType.objects.get(slug="login"),
        country="DE",
        source="web",
        address="203.0.113.7",
    )


@pytest.mark.django_db(transaction=True)
def test_a_pooled_connection_goes_back_before_the_report_waits(service, monkeypatch):
    ProblemType.objects.get(slug="login")  # the form's read: a connection
    calls = _spy(monkeypatch, pooled=True)
    _report(service)
    assert calls == ["released", "waits"]


@pytest.mark.django_db(transaction=True)
def test_a_connection_of_the_threads_own_stays_open(service, monkeypatch):
    ProblemType.objects.get(slug="login")
    calls = _spy(monkeypatch, pooled=False)
    _report(service)
    assert calls == ["waits"]
