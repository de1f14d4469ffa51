from django.urls import path, re_path

from . import views
from .api import views as api
from .redemption import urls as redemption_urls

app_name = "rewards"

urlpatterns = [
    # The original Rewards API's paths (SPEC §7); first, as the hot path.
    path("prod/GetRewardInfo", api.get_reward_info, name="get_reward_info"),
    path("prod/GetReward", api.get_reward, name="get_reward"),
    # Any other path under /prod/ (a trailing slash included): the API's JSON 404, never the
    # console's HTML page nor CommonMiddleware's APPEND_SLASH redirect.
    re_path(r"^prod(?:/|$)", api.unknown_path, name="unknown_api_path"),
    path("api/docs/", views.api_docs, name="api_docs"),
    path("api/openapi.json", views.openapi_json, name="openapi"),
    # The shopper's side (SPEC §8), after the API's patterns.
    *redemption_urls.urlpatterns,
]
