"""Braze Connected Content as the partner guide (seeds/) and the console's snippet write it."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from billing.models import LedgerEntry
from rewards.models import RewardGrant

pytestmark = pytest.mark.django_db

# The partner guide's call, copied as it is (its typo `momentId:MOMENTID` and `campaignID`
# included):
#   {% connected_content INSERT_API_URL_HERE :headers {"accept": "application/json"}
#      :method post :body appId=APPID&momentId:MOMENTID&deviceType=DEVICETYPE
#      &campaignID=CAMPAIGNID&rewardGroupId=REWARDGROUPID :content_type application/json
#      :save moments %}
GUIDE_BODY = (
    "appId=APPID&momentId:MOMENTID&deviceType=DEVICETYPE&campaignID=CAMPAIGNID"
    "&rewardGroupId=REWARDGROUPID"
)
GUIDE_BODY_FIXED = GUIDE_BODY.replace("momentId:MOMENTID", "momentId=MOMENTID")


def _filled(template: str, campaign) -> str:
    return (
        template.replace("APPID", str(campaign.app.app_id))
        .replace("MOMENTID", "LEVEL_10_COMPLETE")
        .replace("DEVICETYPE", "Android")
        .replace("CAMPAIGNID", str(campaign.campaign_id))
        .replace("REWARDGROUPID", "US")
    )


def _as_braze_sends(api, endpoint: str, body: str):
    """What Braze sends for the guide's call: the body as written, under a JSON content type."""
    return api.client.post(
        f"/prod/{endpoint}",
        body,
        content_type="application/json",
        headers={"accept": "application/json", "x-api-key": api.key},
    )


def test_the_guides_connected_content_call_gets_the_reward_info(api, live):
    response = _as_braze_sends(api, "GetRewardInfo", _filled(GUIDE_BODY_FIXED, live))

    assert response.status_code == 200, response.content
    assert response.json()["rewardNotificationText"] == live.announcement_message
    assert response.json()["remainingRewardCount"] == 100
    assert not LedgerEntry.objects.exists()


def test_the_guides_connected_content_call_gets_a_reward(api, live):
    response = _as_braze_sends(api, "GetReward", _filled(GUIDE_BODY_FIXED, live))

    assert response.status_code == 200, response.content
    assert "/r/" in response.json()["rewardNotificationUrl"]
    assert LedgerEntry.objects.filter(campaign=live).count() == 1
    assert RewardGrant.objects.get(campaign=live).device_type == "Android"


@pytest.mark.parametrize("endpoint", ["GetRewardInfo", "GetReward"])
def test_the_guides_typo_is_a_400_that_says_how_to_write_moment_id(api, live, endpoint):
    response = _as_braze_sends(api, endpoint, _filled(GUIDE_BODY, live))

    assert response.status_code == 400
    assert response.json() == {
        "errorCode": "malformed_request",
        "rewardNotificationText": "Invalid request: momentId: write momentId=<value>, "
        "with '=' not ':'.",
    }
    assert not LedgerEntry.objects.exists()


def test_a_json_body_under_a_json_content_type_is_still_read_as_json(api, live):
    raw = json.dumps({"appId": str(live.app.app_id), "momentId": "a=b"})

    response = _as_braze_sends(api, "GetReward", raw)

    assert response.status_code == 400
    text = response.json()["rewardNotificationText"]
    assert "momentId must be a moment ID" in text and "campaignId is required" in text


def test_text_that_is_neither_json_nor_a_form_is_still_invalid_json(api, live):
    response = _as_braze_sends(api, "GetReward", "hello")

    assert response.status_code == 400
    assert response.json()["rewardNotificationText"] == "The body is not valid JSON."


def test_the_exact_spelling_of_a_field_wins_over_another_case(api, live, api_app):
    body = _filled(GUIDE_BODY_FIXED, live) + "&campaignId=" + str(live.campaign_id)
    body = body.replace(f"campaignID={live.campaign_id}", "campaignID=not-a-uuid")

    assert _as_braze_sends(api, "GetReward", body).status_code == 200


# --- The console's snippet -------------------------------------------------------------------


def _snippet(client, campaign) -> str:
    page = client.get(reverse("campaigns:detail", args=[campaign.campaign_id]))
    found = re.search(
        r'<pre class="[^"]*" id="snippet-braze">(.*?)</pre>', page.content.decode(), re.S
    )
    return html.unescape(found.group(1))


def _pasted(snippet: str, *, key: str, user_id: str) -> dict:
    """The request Braze makes for the snippet, with the key filled in and a user's id."""
    tag = re.search(r"\{% connected_content (\S+)(.*?)%\}", snippet, re.S)
    options = dict(re.findall(r":(\w+) (.+)", tag.group(2)))
    headers = json.loads(options["headers"].replace("<your API key>", key))
    return {
        "path": urlsplit(tag.group(1)).path,
        "headers": headers,
        "body": options["body"].strip().replace("{{${user_id}}}", user_id),
        "content_type": options["content_type"].strip(),
    }


def test_the_consoles_braze_snippet_charges_once_for_three_renders(
    alice_client, api, api_app, live
):
    snippet = _snippet(alice_client, live)
    call = _pasted(snippet, key=api_app.key, user_id="braze-user-8841")

    answers = [
        api.client.post(
            call["path"], call["body"], content_type=call["content_type"], headers=call["headers"]
        )
        for _ in range(3)
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    urls = {answer.json()["rewardNotificationUrl"] for answer in answers}
    assert len(urls) == 1
    assert LedgerEntry.objects.filter(campaign=live).count() == 1
    assert "customerRef={{${user_id}}}" in snippet
    assert "every render charges again" in " ".join(snippet.split())


def test_the_campaign_page_says_why_the_snippet_sends_customer_ref(alice_client, live):
    page = alice_client.get(reverse("campaigns:detail", args=[live.campaign_id]))

    why = re.search(r'id="snippet-braze-why">(.*?)</p>', page.content.decode(), re.S).group(1)
    assert "<code>customerRef={{${user_id}}}</code>" in why
    assert "charged once" in why
