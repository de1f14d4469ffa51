"""PostgreSQL only: GetReward as one statement, so its transaction costs one round trip.

0003's `rewards_grant` ran steps (1)-(5) but left the target lookup before it and BEGIN and
COMMIT around it: four round trips, two of them with the hot rows (reward group, campaign,
month counters) locked. `rewards_get_reward` takes the request's public ids and does all of it
in one statement, run in autocommit mode (or inside the caller's transaction when there is
one, as with an Idempotency-Key), so the row locks are held only while PostgreSQL itself works.

It reads the campaign, its reward group and its moment; works out the effective status the way
`campaigns.services.lifecycle.effective_status` does (the API must be right when the sweep is
late; tests compare the two); answers 'test' for a campaign in test mode; then runs SPEC §11's
steps in order, each a conditional statement whose matched-row count decides. A refusal at any
step raises inside an inner block, which rolls back that block's earlier steps (a
subtransaction), and is returned as `outcome` instead of an error: no ERROR line in the server
log for an ordinary "out of rewards".
"""

from django.db import migrations

GET_REWARD = """
CREATE OR REPLACE FUNCTION rewards_get_reward(
    p_app bigint, p_campaign uuid, p_group varchar, p_moment varchar,
    p_now timestamptz, p_today date, p_month date, p_review interval,
    p_expiry_days integer, p_tz text, p_campaign_cap numeric, p_account_limit numeric,
    p_token varchar, p_ref_hash varchar, p_device varchar,
    OUT outcome text, OUT grant_token varchar, OUT campaign_pk bigint,
    OUT status text, OUT message text
) LANGUAGE plpgsql AS $$
DECLARE
    c record;
    v_grant bigint;
    v_expires timestamptz;
BEGIN
    SELECT cc.id, cc.account_id, cc.status, cc.submitted_at, cc.start_date, cc.end_date,
           cc.total_budget, cc.cpa, cc.spent, cc.redemption_message,
           g.id AS group_id, m.id AS moment_id
      INTO c
      FROM campaigns_campaign cc
      JOIN campaigns_rewardgroup g ON g.campaign_id = cc.id AND g.marketplace_id = p_group
      JOIN campaigns_moment m ON m.campaign_id = cc.id AND m.moment_id = p_moment
     WHERE cc.campaign_id = p_campaign AND cc.app_id = p_app;
    IF NOT FOUND THEN
        outcome := 'unknown';
        RETURN;
    END IF;
    campaign_pk := c.id;
    message := c.redemption_message;
    -- The effective status: campaigns.services.lifecycle.effective_status, in SQL.
    status := c.status;
    IF status = 'approved' AND c.submitted_at IS NOT NULL AND c.start_date IS NOT NULL
       AND c.submitted_at + p_review <= p_now AND c.start_date <= p_today THEN
        status := 'live';
    END IF;
    IF status = 'live' AND (
           (c.end_date IS NOT NULL AND p_today > c.end_date)
        OR (c.total_budget IS NOT NULL AND c.cpa IS NOT NULL
            AND c.total_budget - c.spent < c.cpa)) THEN
        status := 'finished';
    END IF;
    IF status = 'approved' THEN
        outcome := 'test';
        RETURN;
    END IF;
    IF status <> 'live' THEN
        IF status = 'finished' AND c.cpa IS NOT NULL
           AND coalesce(c.total_budget, 0) - c.spent < c.cpa THEN
            outcome := 'budget_exhausted';
        ELSE
            outcome := 'campaign_not_live';
        END IF;
        RETURN;
    END IF;
    -- rewards.services.grants' expiry: the end of the 30th day after the end date.
    v_expires := (c.end_date + p_expiry_days + 1)::timestamp AT TIME ZONE p_tz;
    grant_token := p_token;
    BEGIN
        -- (1) the customerRef claim: the grant row itself, on its conditional unique index.
        IF p_ref_hash IS NOT NULL THEN
            INSERT INTO rewards_rewardgrant (campaign_id, reward_group_id, moment_id, token,
                customer_ref_hash, device_type, created_at, expires_at)
            VALUES (c.id, c.group_id, c.moment_id, p_token, p_ref_hash, p_device, p_now,
                    v_expires)
            ON CONFLICT DO NOTHING
            RETURNING id INTO v_grant;
            IF v_grant IS NULL THEN
                SELECT g.token INTO grant_token FROM rewards_rewardgrant g
                 WHERE g.campaign_id = c.id AND g.customer_ref_hash = p_ref_hash;
                outcome := 'repeated';
                RETURN;
            END IF;
        END IF;
        -- (2) inventory
        UPDATE campaigns_rewardgroup SET granted = granted + 1
         WHERE id = c.group_id AND (quantity_limit IS NULL OR granted < quantity_limit);
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'MCR01', MESSAGE = 'out_of_rewards';
        END IF;
        -- (3) the campaign's total budget (re-checked on the row's latest version, with its
        -- status: a suspension committed meanwhile stops the charge), then this month's
        -- campaign spend
        UPDATE campaigns_campaign SET spent = spent + c.cpa
         WHERE id = c.id AND campaigns_campaign.status IN ('approved', 'live')
           AND spent <= total_budget - c.cpa;
        IF NOT FOUND THEN
            IF EXISTS (SELECT 1 FROM campaigns_campaign cc WHERE cc.id = c.id
                       AND cc.status IN ('approved', 'live')) THEN
                RAISE EXCEPTION USING ERRCODE = 'MCR01', MESSAGE = 'budget_exhausted';
            END IF;
            RAISE EXCEPTION USING ERRCODE = 'MCR01', MESSAGE = 'campaign_not_live';
        END IF;
        INSERT INTO billing_campaignmonthlyspend (campaign_id, month, spent)
        VALUES (c.id, p_month, 0) ON CONFLICT DO NOTHING;
        UPDATE billing_campaignmonthlyspend SET spent = spent + c.cpa
         WHERE campaign_id = c.id AND month = p_month AND spent <= p_campaign_cap - c.cpa;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'MCR01', MESSAGE = 'campaign_monthly_cap_reached';
        END IF;
        -- (4) this month's account spend
        INSERT INTO billing_accountmonthlyspend (account_id, month, spent)
        VALUES (c.account_id, p_month, 0) ON CONFLICT DO NOTHING;
        UPDATE billing_accountmonthlyspend SET spent = spent + c.cpa
         WHERE account_id = c.account_id AND month = p_month
           AND spent <= p_account_limit - c.cpa;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'MCR01', MESSAGE = 'account_monthly_cap_reached';
        END IF;
        -- (5) the grant and its ledger row
        IF v_grant IS NULL THEN
            INSERT INTO rewards_rewardgrant (campaign_id, reward_group_id, moment_id, token,
                customer_ref_hash, device_type, created_at, expires_at)
            VALUES (c.id, c.group_id, c.moment_id, p_token, NULL, p_device, p_now, v_expires)
            RETURNING id INTO v_grant;
        END IF;
        INSERT INTO billing_ledgerentry (account_id, campaign_id, moment_id, grant_id, kind,
            amount, month, memo, created_at)
        VALUES (c.account_id, c.id, c.moment_id, v_grant, 'charge', c.cpa, p_month, '', p_now);
        outcome := 'ok';
    EXCEPTION WHEN SQLSTATE 'MCR01' THEN
        -- Leaving the block through its handler rolled back every step above.
        outcome := SQLERRM;
        grant_token := NULL;
    END;
END;
$$;
"""

DROP_GET_REWARD = """
DROP FUNCTION IF EXISTS rewards_get_reward(bigint, uuid, varchar, varchar, timestamptz, date,
    date, interval, integer, text, numeric, numeric, varchar, varchar, varchar);
"""

DROP_OLD_GRANT = """
DROP FUNCTION IF EXISTS rewards_grant(bigint, bigint, bigint, bigint, numeric, date, numeric,
    numeric, varchar, varchar, varchar, timestamptz, timestamptz);
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_OLD_GRANT, params=None)
        schema_editor.execute(GET_REWARD, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        previous = import_module("rewards.migrations.0003_get_reward_in_postgres")
        schema_editor.execute(DROP_GET_REWARD, params=None)
        schema_editor.execute(previous.GRANT_FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [("rewards", "0003_get_reward_in_postgres")]

    operations = [migrations.RunPython(install, uninstall)]
