"""Every place that lists the alert channels lists the same ones.

A channel is a choice of Subscription.Channel, a transport, a noun for sentences, for a chat
service its webhook hosts and example, and a radio button on the sign-up form; nothing tied
them together, so a new channel left out of one passed every test and failed in production
(a 500 on sign-up, or every alert "failed") (contributor tester, forty-sixth session). The
checklist is in alerts/channels/__init__.py.
"""

from __future__ import annotations

import re

import pytest

from alerts import channels, presentation, validation
from alerts.models import Subscription

CHANNELS = set(Subscription.Channel.values)
# Not chat services with webhook hosts of their own: email has no URL, a webhook any.
NOT_CHAT = {Subscription.Channel.EMAIL, Subscription.Channel.WEBHOOK}


def test_every_channel_has_a_transport_and_a_noun():
    assert set(channels.TRANSPORTS) == CHANNELS
    assert {str(channel) for channel in presentation._CHANNEL_NOUNS} == CHANNELS
    for channel in CHANNELS:
        assert presentation.channel_noun(channel)


def test_every_chat_channel_has_its_hosts_and_an_example():
    chat = CHANNELS - NOT_CHAT
    assert set(validation._CHAT_HOSTS) == chat
    assert set(validation._CHAT_EXAMPLES) == chat


@pytest.mark.django_db
def test_the_sign_up_form_offers_every_channel(client, service):
    html = client.get(f"/services/{service.slug}/").content.decode()
    offered = set(
        re.findall(
            r'<input id="subscribe-channel-[a-z]+" type="radio" name="channel" value="([a-z]+)"',
            html,
        )
    )
    assert offered == CHANNELS
    # The form's own words name every chat service too.
    summary = re.search(r"<summary>(Post them to [^<]*)</summary>", html).group(1)
    for value, label in Subscription.Channel.choices:
        if value not in NOT_CHAT:
            assert label in summary, label


def test_messages_name_the_channels_from_the_list():
    assert presentation.posted_channels() == "Slack, Discord or a webhook"
    assert presentation.posted_channel_values() == "webhook, slack, discord"
