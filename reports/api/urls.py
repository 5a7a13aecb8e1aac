from django.urls import path

from reports.api import views

urlpatterns = [
    path("reports/", views.ReportCreateView.as_view(), name="report-create"),
    path("services/", views.ServiceListView.as_view(), name="service-list"),
    path("services/<slug:slug>/", views.ServiceDetailView.as_view(), name="service-detail"),
]
