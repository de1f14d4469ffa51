-- GetReward as one statement (SPEC §11), version 2. Installed by
-- rewards/migrations/0005_get_reward_v2.py; an installed version is never edited: a change is a
-- new file (v3) and a new migration, and tests/rewards/test_get_reward_sql.py checks that the
-- database runs the newest file.
--
-- v2 against v1 (rewards/migrations/0004): the effective status compares the moments stored at
-- approval (campaigns_campaign.goes_live_at, ends_at) as campaigns.services.lifecycle does,
-- instead of re-deriving them from the dates and the review period; the account's monthly cap
-- is read from the account row inside the statement, never passed in from the caller's memory.
--
-- Outcomes are refusal codes of rewards/refusals.py (or 'ok', 'test', 'repeated', 'unknown');
-- their texts live there, once.
CREATE OR REPLACE FUNCTION rewards_get_reward(
    p_app bigint, p_campaign uuid, p_group varchar, p_moment varchar,
    p_now timestamptz, p_month date, p_expiry_days integer, p_tz text,
    p_campaign_cap numeric, p_token varchar, p_ref_hash varchar, p_device varchar,
    OUT outcome text, OUT grant_token varchar, OUT campaign_pk bigint,
    OUT status text, OUT message text
) LANGUAGE plpgsql AS $$
DECLARE
    c record;
    v_grant bigint;
    v_expires timestamptz;
BEGIN
    SELECT cc.id, cc.account_id, cc.status, cc.goes_live_at, cc.ends_at, cc.end_date,
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
    IF status = 'approved' AND c.goes_live_at IS NOT NULL AND c.goes_live_at <= p_now THEN
        status := 'live';
    END IF;
    IF status = 'live' AND (
           (c.ends_at IS NOT NULL AND c.ends_at <= p_now)
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
    -- campaigns.services.lifecycle.rewards_expire_at: the end of the 30th day after the end date.
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
        -- (4) this month's account spend, against the cap on the account row as of now
        INSERT INTO billing_accountmonthlyspend (account_id, month, spent)
        VALUES (c.account_id, p_month, 0) ON CONFLICT DO NOTHING;
        UPDATE billing_accountmonthlyspend SET spent = spent + c.cpa
         WHERE account_id = c.account_id AND month = p_month
           AND spent <= (SELECT a.monthly_spend_limit FROM console_account a
                          WHERE a.id = c.account_id) - c.cpa;
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
