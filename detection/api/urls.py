from django.urls import path

from detection.api import track_record, views
from reports.renamed import renamed_followed

urlpatterns = [
    path(
        "services/<slug:slug>/series/",
        renamed_followed(views.SeriesView.as_view(), api=True),
        name="service-series",
    ),
    path("outages/", views.OutageListView.as_view(), name="outage-list"),
    path("outages/<int:pk>/", views.OutageDetailView.as_view(), name="outage-detail"),
    path("outages/<int:pk>/timeline/", views.OutageTimelineView.as_view(), name="outage-timeline"),
    path("status/", views.StatusView.as_view(), name="status"),
    path("track-record/", track_record.TrackRecordView.as_view(), name="track-record"),
]
