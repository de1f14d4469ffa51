from django.urls import include, path

from . import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    # Take down, resubmit: owned by the lifecycle code.
    path("", include("campaigns.lifecycle_urls")),
]
