from django.urls import path

from . import views
from .api import views as api

app_name = "rewards"

urlpatterns = [
    # The original Rewards API's paths (SPEC §7); first, as the hot path.
    path("prod/GetRewardInfo", api.get_reward_info, name="get_reward_info"),
    path("prod/GetReward", api.get_reward, name="get_reward"),
    path("api/docs/", views.api_docs, name="api_docs"),
    path("api/openapi.json", views.openapi_json, name="openapi"),
]
