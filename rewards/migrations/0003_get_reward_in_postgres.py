"""PostgreSQL only: GetReward's transaction as one SQL function, and the ledger made
append-only by a trigger.

Why a function: every GetReward of a campaign updates the same rows (its reward group, the
campaign, the month's counters). Those row locks are held from the first UPDATE to COMMIT; with
one round trip per step they would be held across eight round trips and the Python between
them, which caps throughput at a few hundred calls per second. The function runs the very same
steps, in the same order, each a conditional statement whose matched-row count decides, in one
round trip. `rewards.services.grants` calls it on PostgreSQL and runs the same steps statement by
statement elsewhere (SQLite serialises writers anyway). The caller's transaction rolls back
every earlier step when the function reports a refusal.
"""

from django.db import migrations

GRANT_FUNCTION = """
CREATE OR REPLACE FUNCTION rewards_grant(
    p_campaign bigint, p_group bigint, p_moment bigint, p_account bigint,
    p_amount numeric, p_month date, p_campaign_cap numeric, p_account_limit numeric,
    p_token varchar, p_ref_hash varchar, p_device varchar,
    p_now timestamptz, p_expires timestamptz,
    OUT outcome text, OUT grant_token varchar
) LANGUAGE plpgsql AS $$
DECLARE
    v_grant bigint;
BEGIN
    grant_token := p_token;
    -- (1) the customerRef claim: the grant row itself, on its conditional unique index.
    IF p_ref_hash IS NOT NULL THEN
        INSERT INTO rewards_rewardgrant (campaign_id, reward_group_id, moment_id, token,
            customer_ref_hash, device_type, created_at, expires_at)
        VALUES (p_campaign, p_group, p_moment, p_token, p_ref_hash, p_device, p_now, p_expires)
        ON CONFLICT DO NOTHING
        RETURNING id INTO v_grant;
        IF v_grant IS NULL THEN
            SELECT g.token INTO grant_token FROM rewards_rewardgrant g
            WHERE g.campaign_id = p_campaign AND g.customer_ref_hash = p_ref_hash;
            outcome := 'repeated';
            RETURN;
        END IF;
    END IF;
    -- (2) inventory
    UPDATE campaigns_rewardgroup SET granted = granted + 1
    WHERE id = p_group AND (quantity_limit IS NULL OR granted < quantity_limit);
    IF NOT FOUND THEN outcome := 'out_of_rewards'; RETURN; END IF;
    -- (3) the campaign's total budget, then this month's campaign spend
    UPDATE campaigns_campaign SET spent = spent + p_amount
    WHERE id = p_campaign AND status IN ('approved', 'live')
      AND spent <= total_budget - p_amount;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM campaigns_campaign
                   WHERE id = p_campaign AND status IN ('approved', 'live')) THEN
            outcome := 'budget_exhausted';
        ELSE
            outcome := 'campaign_not_live';
        END IF;
        RETURN;
    END IF;
    INSERT INTO billing_campaignmonthlyspend (campaign_id, month, spent)
    VALUES (p_campaign, p_month, 0) ON CONFLICT DO NOTHING;
    UPDATE billing_campaignmonthlyspend SET spent = spent + p_amount
    WHERE campaign_id = p_campaign AND month = p_month AND spent <= p_campaign_cap - p_amount;
    IF NOT FOUND THEN outcome := 'campaign_monthly_cap_reached'; RETURN; END IF;
    -- (4) this month's account spend
    INSERT INTO billing_accountmonthlyspend (account_id, month, spent)
    VALUES (p_account, p_month, 0) ON CONFLICT DO NOTHING;
    UPDATE billing_accountmonthlyspend SET spent = spent + p_amount
    WHERE account_id = p_account AND month = p_month AND spent <= p_account_limit - p_amount;
    IF NOT FOUND THEN outcome := 'account_monthly_cap_reached'; RETURN; END IF;
    -- (5) the grant and its ledger row
    IF v_grant IS NULL THEN
        INSERT INTO rewards_rewardgrant (campaign_id, reward_group_id, moment_id, token,
            customer_ref_hash, device_type, created_at, expires_at)
        VALUES (p_campaign, p_group, p_moment, p_token, NULL, p_device, p_now, p_expires)
        RETURNING id INTO v_grant;
    END IF;
    INSERT INTO billing_ledgerentry (account_id, campaign_id, moment_id, grant_id, kind, amount,
        month, memo, created_at)
    VALUES (p_account, p_campaign, p_moment, v_grant, 'charge', p_amount, p_month, '', p_now);
    outcome := 'ok';
END;
$$;
"""

LEDGER_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION billing_ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'The spend ledger is append-only: % is refused; add a correction entry.',
        TG_OP;
END;
$$;
DROP TRIGGER IF EXISTS billing_ledger_append_only ON billing_ledgerentry;
CREATE TRIGGER billing_ledger_append_only BEFORE UPDATE OR DELETE ON billing_ledgerentry
FOR EACH ROW EXECUTE FUNCTION billing_ledger_append_only();
"""

DROP = """
DROP FUNCTION IF EXISTS rewards_grant(bigint, bigint, bigint, bigint, numeric, date, numeric,
    numeric, varchar, varchar, varchar, timestamptz, timestamptz);
DROP TRIGGER IF EXISTS billing_ledger_append_only ON billing_ledgerentry;
DROP FUNCTION IF EXISTS billing_ledger_append_only();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GRANT_FUNCTION, params=None)
        schema_editor.execute(LEDGER_APPEND_ONLY, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0002_marketplaces"),
        ("billing", "0002_initial"),
        ("campaigns", "0003_review_and_notifications"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
