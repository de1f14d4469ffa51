"""The integration snippets on a campaign's page, run as a developer would paste them: against a
live server, they must print an error answer's reason instead of crashing on a missing field."""

from __future__ import annotations

import html
import re
import subprocess
import sys

import pytest
from django.urls import reverse

from billing.models import LedgerEntry

from .conftest import live_campaign

pytestmark = pytest.mark.django_db(transaction=True)


def page_snippet(client, campaign, language: str) -> str:
    page = client.get(reverse("campaigns:detail", args=[campaign.campaign_id]))
    found = re.search(
        rf'<pre class="[^"]*" id="snippet-{language}">(.*?)</pre>', page.content.decode(), re.S
    )
    return html.unescape(found.group(1))


def run_python(snippet: str, *, key: str) -> subprocess.CompletedProcess:
    """The snippet as pasted into a file with the key filled in, run by this virtualenv's
    Python (which has requests)."""
    return subprocess.run(
        [sys.executable, "-c", snippet.replace("<your API key>", key)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def served(settings, live_server):
    """The snippets point at the live server."""
    settings.SITE_URL = live_server.url
    return live_server


def test_the_python_snippet_prints_the_reward_url_of_a_live_campaign(served, alice_client, api_app):
    campaign = live_campaign(api_app.app)

    done = run_python(page_snippet(alice_client, campaign, "python"), key=api_app.key)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == campaign.announcement_message
    assert lines[1].startswith(f"{served.url}/r/")
    assert LedgerEntry.objects.filter(campaign=campaign).count() == 1


def test_the_python_snippet_prints_the_reason_of_a_refused_key_instead_of_crashing(
    served, alice_client, api_app
):
    campaign = live_campaign(api_app.app)

    done = run_python(page_snippet(alice_client, campaign, "python"), key="mk_wrong.key")

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("GetRewardInfo failed: HTTP 403 ")
    assert lines[1].startswith("GetReward failed: HTTP 403 ")
    assert not LedgerEntry.objects.exists()


def test_the_python_snippet_prints_why_no_reward_was_handed_out(served, alice_client, api_app):
    campaign = live_campaign(api_app.app, quantity_limit=0)

    done = run_python(page_snippet(alice_client, campaign, "python"), key=api_app.key)

    assert done.returncode == 0, done.stderr
    assert "KeyError" not in done.stderr
    info, reward = done.stdout.splitlines()
    # GetRewardInfo still answers 200 (nothing left is not an error there); GetReward is a 409.
    assert info == campaign.announcement_message
    assert reward.startswith("GetReward failed: HTTP 409 out_of_rewards: ")


def test_the_python_snippet_says_when_the_ids_match_no_campaign(served, alice_client, api_app):
    campaign = live_campaign(api_app.app)
    snippet = page_snippet(alice_client, campaign, "python")
    snippet = snippet.replace('"rewardGroupId": "US"', '"rewardGroupId": "DE"')

    done = run_python(snippet, key=api_app.key)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "GetRewardInfo: no such campaign or reward group (check the IDs)",
        "GetReward: no such campaign or reward group (check the IDs)",
    ]


def test_the_curl_snippet_fails_on_an_error_answer_and_still_shows_why(alice_client, api_app):
    snippet = page_snippet(alice_client, live_campaign(api_app.app), "curl")
    assert snippet.count("curl -sS --fail-with-body -X POST") == 2


def test_the_braze_snippet_aborts_the_message_when_no_reward_url_came_back(alice_client, api_app):
    snippet = page_snippet(alice_client, live_campaign(api_app.app), "braze")
    check = snippet.index("{% if reward.__http_status_code__ != 200")
    assert "{% abort_message(" in snippet[check:]
    # The check comes before the message uses the URL.
    assert check < snippet.index("{{ reward.rewardNotificationUrl }}")
