"""The product's URLs plus the bare views the load benchmark compares against."""

from django.urls import path

from bench.load import views
from outagewatch.urls import *  # noqa: F403  (handler400/404/500 too)
from outagewatch.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    # Under /api/ like the product's API: the same middleware treats them the same way.
    path("api/bench/reports/", views.BareReportCreateView.as_view(), name="bench-bare-report"),
    path("api/bench/constant/", views.BareConstantView.as_view(), name="bench-bare-constant"),
    *product_urlpatterns,
]
