"""GetReward's SQL lives in versioned files (rewards/sql/): the database runs the newest one, an
installed file is never edited in place, and the account's cap is read from its row by both
engines, never from the app the process remembers."""

from __future__ import annotations

import importlib
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from console.models import Account, App
from rewards.services.grants import RewardRefused, reward_grant
from rewards.services.reward_info import reward_info
from rewards.sql import SQL_DIR, function_body, newest_version, sql_file

from .conftest import live_campaign

MIGRATIONS = Path(__file__).resolve().parents[2] / "rewards" / "migrations"


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _migrations_loading(prefix: str) -> list:
    """The rewards migrations that install a `<prefix>_v<N>.sql` file, oldest first."""
    found = []
    for path in sorted(MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.py")):
        module = importlib.import_module(f"rewards.migrations.{path.stem}")
        if getattr(module, "SQL_FILE", "").startswith(prefix + "_v"):
            found.append(module)
    return found


@pytest.mark.django_db
def test_the_database_runs_the_newest_get_reward_file(postgres):
    newest = newest_version("rewards_get_reward")
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'rewards_get_reward'")
        installed = [row[0] for row in cursor.fetchall()]

    assert len(installed) == 1, "an older overload of rewards_get_reward is still installed"
    assert _squeeze(installed[0]) == _squeeze(function_body(newest.read_text())), (
        f"The installed rewards_get_reward is not {newest.name}: install it with a migration."
    )


def test_the_newest_get_reward_file_is_installed_by_the_newest_such_migration():
    newest = newest_version("rewards_get_reward")
    loaders = _migrations_loading("rewards_get_reward")

    assert loaders, "no migration installs a rewards/sql/rewards_get_reward_v*.sql file"
    assert newest.name == loaders[-1].SQL_FILE, (
        f"{newest.name} has no migration: write one that installs it."
    )


def test_every_installed_sql_file_is_unchanged_since_its_migration():
    for module in _migrations_loading("rewards_get_reward"):
        sql_file(module.SQL_FILE, sha256=module.SQL_SHA256)  # raises when edited


def test_an_edited_sql_file_stops_its_migration_with_a_message_naming_the_fix():
    with pytest.raises(RuntimeError, match="copy it to a new version file"):
        sql_file("rewards_get_reward_v2.sql", sha256="0" * 64)


def test_the_sql_files_are_named_by_version():
    names = [path.name for path in SQL_DIR.glob("*.sql")]
    assert names and all(re.fullmatch(r"[a-z_]+_v\d+\.sql", name) for name in names)


# --- the account's cap is read from its row (issue 9, found #8) -------------------------------


def _remembered(app) -> App:
    """The app as the API keeps it in memory: loaded once, with its account."""
    return App.objects.select_related("account").get(pk=app.pk)


def _grant(app, campaign):
    return reward_grant(
        app=app,
        campaign_id=campaign.campaign_id,
        reward_group_id="US",
        moment_id="LEVEL_10_COMPLETE",
        device_type="Android",
    )


@pytest.mark.django_db
def test_a_cap_lowered_on_the_account_row_holds_for_the_next_reward_whatever_the_app_in_memory(
    grant_engine, api_app, acme
):
    campaign = live_campaign(api_app.app, cpa=Decimal("10"))
    app = _remembered(api_app.app)
    assert _grant(app, campaign).url

    Account.objects.filter(pk=acme.pk).update(monthly_spend_limit=Decimal("15.00"))
    assert app.account.monthly_spend_limit == Decimal("15000.00")  # the process's old copy

    with pytest.raises(RewardRefused) as refused:
        _grant(app, campaign)
    assert refused.value.code == "account_monthly_cap_reached"
    assert campaign.ledger_entries.count() == 1


@pytest.mark.django_db
def test_a_raised_cap_on_the_account_row_lets_rewards_resume_at_once(grant_engine, api_app, acme):
    Account.objects.filter(pk=acme.pk).update(monthly_spend_limit=Decimal("10.00"))
    campaign = live_campaign(api_app.app, cpa=Decimal("10"))
    app = _remembered(api_app.app)
    assert _grant(app, campaign).url
    with pytest.raises(RewardRefused):
        _grant(app, campaign)

    Account.objects.filter(pk=acme.pk).update(monthly_spend_limit=Decimal("20.00"))

    assert _grant(app, campaign).url


@pytest.mark.django_db
def test_the_api_refuses_past_a_lowered_cap_while_it_still_remembers_the_key(
    redis_client, grant_engine, api, api_app, acme
):
    campaign = live_campaign(api_app.app, cpa=Decimal("10"))
    assert api.reward(campaign).status_code == 200  # the key (and its app) now remembered

    Account.objects.filter(pk=acme.pk).update(monthly_spend_limit=Decimal("15.00"))
    refused = api.reward(campaign)

    assert refused.status_code == 409
    assert refused.json()["errorCode"] == "account_monthly_cap_reached"


@pytest.mark.django_db
def test_reward_info_counts_against_the_cap_on_the_account_row(api_app, acme):
    campaign = live_campaign(api_app.app, cpa=Decimal("10"))
    app = _remembered(api_app.app)
    Account.objects.filter(pk=acme.pk).update(monthly_spend_limit=Decimal("30.00"))

    body = reward_info(
        app=app,
        campaign_id=campaign.campaign_id,
        reward_group_id="US",
        moment_id="LEVEL_10_COMPLETE",
    )

    assert body["remainingRewardCount"] == 3


# --- one table of refusals ----------------------------------------------------------------------


def test_every_outcome_of_the_sql_function_is_a_code_of_the_refusal_table():
    from rewards.refusals import REFUSALS

    sql = newest_version("rewards_get_reward").read_text()
    outcomes = set(re.findall(r"MESSAGE = '([a-z_]+)'", sql))
    outcomes |= set(re.findall(r"outcome := '([a-z_]+)'", sql))

    assert outcomes - {"ok", "test", "repeated", "unknown"} <= set(REFUSALS)
    assert {"out_of_rewards", "budget_exhausted", "account_monthly_cap_reached"} <= outcomes


def test_the_api_documents_every_refusal_with_the_tables_status():
    from rewards.api.errors import ERROR_CODES
    from rewards.refusals import REFUSALS

    for code, refusal in REFUSALS.items():
        assert ERROR_CODES[code] == (refusal.status, refusal.doc)


def test_an_unknown_engine_setting_is_refused_with_the_choices(settings):
    from django.core.exceptions import ImproperlyConfigured

    from rewards.services.grants import grant_engine

    settings.GET_REWARD_ENGINE = "fast"
    with pytest.raises(ImproperlyConfigured, match="auto, sql or python"):
        grant_engine()
