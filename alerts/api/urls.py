from django.urls import path

from alerts.api import views

urlpatterns = [
    path("subscriptions/", views.SubscriptionCreateView.as_view(), name="subscription-create"),
]
