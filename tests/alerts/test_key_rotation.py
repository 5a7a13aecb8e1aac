"""Links already mailed keep working after SECRET_KEY is rotated, while the old key is named
in SECRET_KEY_FALLBACKS (ops tester F9: a rotation left every confirm, unsubscribe and
manage link dead)."""

from __future__ import annotations

import pytest

from alerts import tokens
from alerts.models import Subscription

pytestmark = pytest.mark.django_db

OLD = "old-key-" + "q" * 20 + "Zx9Lm2Np4Rt6Vw8Yb"
NEW = "new-key-" + "k" * 20 + "Ab1Cd3Ef5Gh7Ij9Kl"


@pytest.fixture
def subscription(service):
    return Subscription.objects.create(
        email="ann@example.com",
        service=service,
        countries=[],
        channel="webhook",
        url="https://hooks.example.com/x",
    )


def test_links_signed_with_the_old_key_work_while_it_is_a_fallback(settings, subscription):
    settings.SECRET_KEY = OLD
    unsubscribe = tokens.unsubscribe_token_make(subscription=subscription)
    manage = tokens.manage_token_make(subscription=subscription)

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    assert tokens.unsubscribe_token_read(unsubscribe) == subscription
    assert tokens.manage_token_read(manage) == subscription

    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(tokens.InvalidToken):
        tokens.unsubscribe_token_read(unsubscribe)
    with pytest.raises(tokens.InvalidToken):
        tokens.manage_token_read(manage)
