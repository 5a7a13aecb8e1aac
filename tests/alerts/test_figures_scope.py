"""An outage that names its countries says whose its figures are: the service's, from every
country (words tester F11)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts import channels, presentation
from alerts.emails import alert_email_build
from alerts.models import AlertDelivery
from detection import presentation as words

pytestmark = pytest.mark.django_db
SCOPE = "These figures count reports about Acme Cloud from every country, not only from France."


@pytest.mark.parametrize("kind", ["opened", "reopened", "resolved"])
def test_a_one_country_outage_says_its_figures_are_every_countrys(subscriber, outage, kind):
    """ "Affected: France ... At the peak: about 41 reports a minute, where about 7 are normal.
    756 reports in all" read as France's, which alone had about 33 a minute against 2."""
    o = outage(["FR"], total_reports=756, networks=600)
    if kind == "resolved":
        o.status, o.resolved_at = "resolved", timezone.now()
        o.save()
    delivery = AlertDelivery.objects.create(outage=o, subscription=subscriber(), kind=kind)
    notice = presentation.notice_build(delivery=delivery, now=timezone.now())
    # The outage's page, the API's and the webhook's explanation and the feed: one summary.
    assert words.outage_summary(o).endswith(SCOPE)
    assert notice.explanation.endswith(SCOPE)
    # The chat messages' summary, beside their "Countries: France" field.
    assert SCOPE in channels.slack.payload(notice)["blocks"][1]["text"]["text"]
    email = alert_email_build(notice=notice)
    assert "Affected: France" in email.body and SCOPE in email.body
    assert SCOPE in email.alternatives[0][0]


def test_an_outage_naming_no_country_says_nothing_of_whose_figures(subscriber, outage):
    o = outage([], total_reports=756, networks=600)
    delivery = AlertDelivery.objects.create(outage=o, subscription=subscriber(), kind="opened")
    notice = presentation.notice_build(delivery=delivery, now=timezone.now())
    assert "These figures" not in words.outage_summary(o)
    assert "These figures" not in alert_email_build(notice=notice).body


def test_the_outage_tables_peak_column_says_it_is_every_countrys(client, outage):
    # Its "Countries: France" cell sits beside the peak.
    outage(["FR"], total_reports=756, networks=600)
    page = client.get("/outages/").content.decode()
    assert "France" in page and "Peak, all countries" in page
