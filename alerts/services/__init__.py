"""Writes of the alerts app, by sub-domain; the names callers use are re-exported here.

Detection calls only ``alerts_notify`` (an outage's events), ``alerts_upstream_notify``
(a new upstream outage, for the provider's followers) and ``services_alerts_lock`` (before
telling of outages of several services in one transaction: their rows in one order).
"""

from alerts.services.channels import (
    ChannelTested,
    channel_reenable,
    channel_test_send,
    subscription_delete,
    subscription_secret_previous_drop,
    subscription_secret_reveal,
    subscription_secret_rotate,
)
from alerts.services.deliveries import (
    OutageChange,
    Swept,
    alert_deliveries_send,
    alert_delivery_send,
    alerts_notify,
    alerts_queue,
    alerts_sweep,
)
from alerts.services.history import deliveries_purge
from alerts.services.outbox import Outcome, SendResult
from alerts.services.subscriptions import (
    ConfirmationsWaitingFull,
    Purged,
    SubscriptionRequested,
    confirmation_delivery_send,
    email_normalize,
    email_rate_key,
    gathered_waiting_max,
    services_alerts_lock,
    subscription_acknowledged_set,
    subscription_confirm,
    subscription_disable,
    subscription_request,
    subscription_unsubscribe,
    subscriptions_purge,
)
from alerts.services.upstream import alerts_upstream_notify, upstream_delivery_send

__all__ = [
    "ChannelTested",
    "ConfirmationsWaitingFull",
    "OutageChange",
    "Outcome",
    "Purged",
    "SendResult",
    "SubscriptionRequested",
    "Swept",
    "alert_deliveries_send",
    "alert_delivery_send",
    "alerts_notify",
    "alerts_queue",
    "alerts_sweep",
    "alerts_upstream_notify",
    "channel_reenable",
    "channel_test_send",
    "confirmation_delivery_send",
    "deliveries_purge",
    "email_normalize",
    "email_rate_key",
    "gathered_waiting_max",
    "services_alerts_lock",
    "subscription_acknowledged_set",
    "subscription_confirm",
    "subscription_delete",
    "subscription_disable",
    "subscription_request",
    "subscription_secret_previous_drop",
    "subscription_secret_reveal",
    "subscription_secret_rotate",
    "subscription_unsubscribe",
    "subscriptions_purge",
    "upstream_delivery_send",
]
