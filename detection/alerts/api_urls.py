from django.urls import path

from detection.alerts import api

urlpatterns = [
    path("subscriptions/", api.SubscriptionCreateView.as_view(), name="subscription-create"),
]
