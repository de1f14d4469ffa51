"""PostgreSQL only: GetReward's function, version 2, from rewards/sql/rewards_get_reward_v2.sql.

The function now reads the moments stored at approval (campaigns 0005: goes_live_at, ends_at)
and the account's monthly cap from the account row inside the statement. Its argument list
changed, so the v1 overload is dropped first; going back reinstalls v1 (0004's text).
"""

from importlib import import_module

from django.db import migrations

SQL_FILE = "rewards_get_reward_v2.sql"
SQL_SHA256 = "7d522103bb76e3f6ef886ce29ab8e02c4ac67242ccbab4557876655335986af2"

DROP_V2 = """
DROP FUNCTION IF EXISTS rewards_get_reward(bigint, uuid, varchar, varchar, timestamptz, date,
    integer, text, numeric, varchar, varchar, varchar);
"""


def _v1():
    return import_module("rewards.migrations.0004_get_reward_in_one_statement")


def install(apps, schema_editor):
    from rewards.sql import sql_file

    text = sql_file(SQL_FILE, sha256=SQL_SHA256)  # read here: checked even off PostgreSQL
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_v1().DROP_GET_REWARD, params=None)
        schema_editor.execute(text, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_V2, params=None)
        schema_editor.execute(_v1().GET_REWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0004_get_reward_in_one_statement"),
        ("campaigns", "0005_schedule_columns"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
