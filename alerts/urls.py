from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("services/<slug:slug>/subscribe/", views.subscribe, name="subscribe"),
    path("subscriptions/confirm/<str:token>/", views.confirm, name="confirm"),
    path("subscriptions/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("subscriptions/manage/<str:token>/", views.manage, name="manage"),
]
