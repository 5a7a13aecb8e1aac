from django.urls import path

from detection import feeds, views

app_name = "detection"

urlpatterns = [
    path("outages/", views.outage_list, name="outages"),
    path("outages/feed/", feeds.OutageFeed(), name="feed"),
    path("outages/<int:pk>/", views.outage_detail, name="outage"),
    path("services/<slug:slug>/outages/feed/", feeds.ServiceOutageFeed(), name="service-feed"),
]
