from django.urls import path

from reports import views, views_comments, views_geo
from reports.renamed import renamed_followed

app_name = "reports"

urlpatterns = [
    path("", views.home, name="home"),
    path("services/<slug:slug>/", renamed_followed(views.service_detail), name="service"),
    path(
        "services/<slug:slug>/comments/<int:pk>/flag/",
        renamed_followed(views_comments.comment_flag),
        name="comment-flag",
    ),
    path("regions/<str:country>.json", views_geo.regions, name="regions"),
]
