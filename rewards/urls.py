from django.urls import path

from . import views

app_name = "rewards"

urlpatterns = [
    path("api/docs/", views.api_docs, name="api_docs"),
]
