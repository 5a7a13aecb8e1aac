from django.urls import path

from detection.api import views as status_views
from reports.api import views
from reports.renamed import renamed_followed

urlpatterns = [
    path("reports/", views.ReportCreateView.as_view(), name="report-create"),
    path("services/", views.ServiceListView.as_view(), name="service-list"),
    # The service with its current status lives with the other outage reads.
    path(
        "services/<slug:slug>/",
        renamed_followed(status_views.ServiceDetailView.as_view(), api=True),
        name="service-detail",
    ),
    path(
        "services/<slug:slug>/comments/",
        renamed_followed(views.CommentListView.as_view(), api=True),
        name="service-comments",
    ),
]
