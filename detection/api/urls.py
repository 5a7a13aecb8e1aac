from django.urls import path

from detection.api import track_record, views

urlpatterns = [
    path("services/<slug:slug>/series/", views.SeriesView.as_view(), name="service-series"),
    path("outages/", views.OutageListView.as_view(), name="outage-list"),
    path("outages/<int:pk>/", views.OutageDetailView.as_view(), name="outage-detail"),
    path("status/", views.StatusView.as_view(), name="status"),
    path("track-record/", track_record.TrackRecordView.as_view(), name="track-record"),
]
