"""Schemathesis over the whole OpenAPI schema: no 5xx, and every answer matches the schema.

Generated requests (valid and invalid ones, NUL bytes allowed in strings) go to the Django
app in this process, on the test database: PostgreSQL in CI (DATABASE_URL), SQLite
locally. Throttles are raised for the run so 429s do not hide other answers.
SCHEMATHESIS_MAX_EXAMPLES sets the examples per operation and mode; the default keeps
the run to about two minutes on two cores.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.config._checks import (
    NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES,
    NegativeDataRejectionConfig,
)
from schemathesis.specs.openapi import checks as openapi_checks

pytestmark = [pytest.mark.schemathesis, pytest.mark.django_db]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "150"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.negative_data_rejection,
]


def _load_schema():
    from django.core.handlers.wsgi import WSGIHandler

    # Loaded at collection (the schema comes from code, not from the database); requests
    # made during the tests reach the test database through the same app.
    loaded = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())
    # A redirect is no acceptance: reports.renamed answers a slug in another case or a former
    # slug with a 301 before the view reads the query, and the client following it gets the
    # 400 there (schemathesis found /services/X/comments/?page_size=292 in CI).
    loaded.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "301"]
    )
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        allow_x00=True,
        deterministic=True,
        database="none",
    )
    return loaded


schema = _load_schema()


@pytest.fixture(autouse=True)
def _app_on_the_test_database(throttle_rate, settings):
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    for scope in ("reports", "reads", "subscriptions"):
        throttle_rate(scope, "100000/min")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # A stack whose minute jobs keep up, as a running one's do: /api/v1/health/ answers 503
    # on purpose otherwise, which is no server error (tests/api/test_health.py has that case).
    _minute_jobs_current()
    # As Django's test client does: the app must not close the test's connection (and
    # with it the test's transaction) after each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _minute_jobs_current() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from detection.models import JobCursor
    from outagewatch.beat_lease import Lease

    minute = timezone.now().replace(second=0, microsecond=0)
    JobCursor.objects.update_or_create(name=JobCursor.BUCKETS, defaults={"position": minute})
    JobCursor.objects.update_or_create(
        name=JobCursor.TICK, defaults={"position": minute - timedelta(minutes=1)}
    )
    JobCursor.objects.update_or_create(name=JobCursor.ALERTS_SWEEP, defaults={"position": minute})
    Lease("schemathesis").beat(at=timezone.now())  # and beat is heard from


@schema.parametrize()
def test_api_answers_conform_to_the_schema(case):
    case.call_and_validate(checks=CHECKS)
