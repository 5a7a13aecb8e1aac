from django.urls import path

from detection.api import views as status_views
from reports.api import views

urlpatterns = [
    path("reports/", views.ReportCreateView.as_view(), name="report-create"),
    path("services/", views.ServiceListView.as_view(), name="service-list"),
    # The service with its current status lives with the other outage reads.
    path("services/<slug:slug>/", status_views.ServiceDetailView.as_view(), name="service-detail"),
    path(
        "services/<slug:slug>/comments/",
        views.CommentListView.as_view(),
        name="service-comments",
    ),
]
