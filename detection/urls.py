from django.urls import path

from detection import feeds, track_record_view, views
from outagewatch.http.conditional import conditional_read
from reports.renamed import renamed_followed

# Feed readers poll with If-Modified-Since / If-None-Match: an unchanged feed is a 304.

app_name = "detection"

urlpatterns = [
    path("live.json", views.home_live, name="home-live"),
    path(
        "services/<slug:slug>/live.json",
        renamed_followed(views.service_live),
        name="service-live",
    ),
    path("outages/", views.outage_list, name="outages"),
    path("track-record/", track_record_view.track_record_page, name="track-record"),
    path("outages/feed/", conditional_read(feeds.OutageFeed()), name="feed"),
    path("outages/<int:pk>/", views.outage_detail, name="outage"),
    path("outages/<int:pk>/live.json", views.outage_live, name="outage-live"),
    path(
        "services/<slug:slug>/outages/feed/",
        # Feed readers keep the address they were given: a renamed service's old one follows.
        renamed_followed(conditional_read(feeds.ServiceOutageFeed())),
        name="service-feed",
    ),
]
