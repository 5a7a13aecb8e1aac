from django.urls import path  # noqa: F401

app_name = "detection"

urlpatterns: list = []
