from django.urls import path

from alerts import manage_views, views
from reports.renamed import renamed_followed

app_name = "alerts"

urlpatterns = [
    path("services/<slug:slug>/subscribe/", renamed_followed(views.subscribe), name="subscribe"),
    path("subscriptions/confirm/<str:token>/", views.confirm, name="confirm"),
    path("subscriptions/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("subscriptions/manage/<str:token>/", manage_views.manage, name="manage"),
]
