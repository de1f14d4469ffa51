from django.urls import include, path

from . import views
from .views import pages
from .views.duplicate import campaign_duplicate_view

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.wizard_new, name="create"),
    path("<uuid:campaign_id>/", views.campaign_detail, name="detail"),
    path("<uuid:campaign_id>/results.csv", pages.campaign_results_csv, name="results_csv"),
    path("<uuid:campaign_id>/edit/", views.wizard_resume, name="wizard"),
    path("<uuid:campaign_id>/edit/<int:step>/", views.wizard_step, name="wizard_step"),
    path("<uuid:campaign_id>/delete/", views.campaign_delete, name="delete"),
    # Take down, resubmit: owned by the lifecycle code.
    path("", include("campaigns.lifecycle_urls")),
    path("<uuid:campaign_id>/duplicate/", campaign_duplicate_view, name="duplicate"),
]
