"""The review desk in a real Chromium (issue 20): a reviewer takes the oldest campaign, sees no
money, fails a checklist item and rejects with the pre-filled reason, which the developer reads;
a resubmission shows its diff and is approved with the keyboard; two reviewers cannot take the
same campaign; a stale tab's Approve is refused."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.services.payments import payment_method_add
from campaigns.models import Campaign
from campaigns.services.review import campaign_review_reject
from campaigns.services.wizard import campaign_messages_set, campaign_submit
from tests.campaigns.conftest import make_complete_draft
from tests.campaigns.lifecycle_helpers import checklist_seeded, staff_group
from tests.factories import PASSWORD, AppFactory, MembershipFactory, ProductFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = Campaign.Status
# An amount with a currency, however written: $1,234.56 · 13,99 € · ¥1480 · USD 12.
MONEY = re.compile(
    r"[$€£¥￥]\s?\d|\d\s?[$€£¥￥]|\b(?:USD|EUR|GBP|JPY)\s?\d|\d\s?(?:USD|EUR|GBP|JPY)\b"
)
# Where the screenshots of the desk, the queue and the report go when asked for (the note's
# pictures), e.g. REVIEW_SHOTS=/work/notes/shots.
SHOTS = os.environ.get("REVIEW_SHOTS")


def shot(page, name: str) -> None:
    if SHOTS:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def world():
    """Acme's developer with a card on file and an app, two reviewers and the checklist."""
    membership = MembershipFactory(
        user__email="alice@acme.test", account__name="Acme Games", role="admin"
    )
    alice, acme = membership.user, membership.account
    payment_method_add(
        account=acme,
        actor=alice,
        card_number="4242424242424242",
        exp_month=12,
        exp_year=timezone.localdate().year + 2,
        cardholder_name="Alice Liddell",
        billing_address="1 Main Street",
    )
    reviewers = staff_group("Reviewers")
    rita = UserFactory(email="rita@moments.test", is_staff=True)
    rex = UserFactory(email="rex@moments.test", is_staff=True)
    rita.groups.add(reviewers)
    rex.groups.add(reviewers)
    return {
        "alice": alice,
        "app": AppFactory(account=acme, created_by=alice, name="Space Miner"),
        "rita": rita,
        "rex": rex,
        "checklist": checklist_seeded(),
    }


def submitted(world, name: str, message: str, *, days_ago: int = 0) -> Campaign:
    product = ProductFactory(marketplace_id="US", title=f"Earbuds for {name}")
    campaign = make_complete_draft(
        world["app"],
        product=product,
        name=name,
        total_budget="4321.0000",
        cpa="77.7700",
        created_by=world["alice"],
    )
    set_message(campaign, world["alice"], message)
    campaign_submit(
        campaign=campaign,
        actor=world["alice"],
        now=timezone.now() - timedelta(days=days_ago),
    )
    campaign.refresh_from_db()
    return campaign


def set_message(campaign, alice, text: str) -> None:
    campaign.refresh_from_db()
    campaign_messages_set(
        campaign=campaign,
        actor=alice,
        announcement_message=text,
        announcement_criteria=campaign.announcement_criteria,
        redemption_message=campaign.redemption_message,
        terms=campaign.terms,
    )


def admin_log_in(page, email: str) -> None:
    page.goto("/admin/login/?next=/admin/campaigns/campaignreview/")
    page.get_by_label("Username").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#result_list, #changelist")).not_to_have_count(0)


def desk(campaign) -> str:
    return f"/admin/campaigns/campaignreview/{campaign.pk}/change/"


def test_a_reviewer_takes_the_oldest_fails_an_item_and_rejects_and_the_developer_reads_why(
    page, world
):
    newer = submitted(world, "Newer Quest", "Reach level 5!", days_ago=1)
    oldest = submitted(world, "Oldest Quest", "Reach level 10 for free earbuds!", days_ago=3)
    logo_rule = world["checklist"][0]

    admin_log_in(page, "rita@moments.test")
    rows = page.locator("#result_list tbody tr")
    expect(rows.first).to_contain_text("Oldest Quest")
    expect(rows.first).to_contain_text("due in 4 days")
    assert not MONEY.search(page.content())
    shot(page, "review_queue")
    page.locator("#take-next").click()

    expect(page).to_have_url(re.compile(re.escape(desk(oldest)) + "$"))
    expect(page.locator("#taken-by")).to_contain_text("Taken by you")
    expect(page.locator("#banner-real-size")).to_be_visible()
    assert page.locator("#banner-real-size").evaluate("img => img.naturalWidth") == 3000
    assert page.locator("#banner-real-size").evaluate("img => img.clientWidth") == 3000
    expect(page.locator("iframe.shopper-page")).to_have_count(1)
    html = page.content()
    assert not MONEY.search(html), MONEY.search(html)
    assert "4,321" not in html and "77.77" not in html

    row = page.locator(".checklist-item", has_text=logo_rule.text)
    row.get_by_label("Fails").check()
    expect(page.locator("#id_reason")).to_have_value(logo_rule.rejection_text)
    page.locator("h3", has_text="Decide").click()  # out of the form's fields: keys are shortcuts
    page.keyboard.press("r")
    expect(page.locator(".messagelist")).to_contain_text("1 campaign rejected.")
    oldest.refresh_from_db()
    assert (oldest.status, oldest.rejection_reason) == (S.REJECTED, logo_rule.rejection_text)
    newer.refresh_from_db()
    assert newer.status == S.PENDING_APPROVAL

    page.context.clear_cookies()
    page.goto("/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/campaigns/{oldest.campaign_id}/")
    lifecycle = page.get_by_role("region", name="Review and history")
    expect(
        lifecycle.get_by_role("paragraph").filter(has_text=logo_rule.rejection_text)
    ).to_be_visible()


def test_after_a_resubmission_the_reviewer_sees_the_diff_and_approves_with_the_keyboard(
    page, world
):
    campaign = submitted(world, "Casino Quest", "EDIT 1: win a casino bonus", days_ago=2)
    campaign_review_reject(
        campaign=campaign,
        actor=world["rita"],
        version=campaign.version,
        reason="No gambling in the message.",
    )
    set_message(campaign, world["alice"], "EDIT 2: reach level 10 for earbuds")
    campaign_submit(campaign=campaign, actor=world["alice"])

    admin_log_in(page, "rita@moments.test")
    page.goto(desk(campaign))
    diff = page.locator("#review-diff")
    expect(diff).to_contain_text("Changed since the rejected round 1")
    expect(diff).to_contain_text("No gambling in the message.")
    changed = diff.locator("tr.diff-row")
    expect(changed).to_have_count(1)
    expect(changed.locator("th")).to_have_text("Notification message")
    expect(changed.locator("del")).to_have_text("EDIT 1: win a casino bonus")
    expect(changed.locator("ins")).to_have_text("EDIT 2: reach level 10 for earbuds")
    shot(page, "review_desk")

    page.locator("body").click(position={"x": 5, "y": 5})  # focus the page, not a field
    page.keyboard.press("a")

    expect(page.locator(".messagelist")).to_contain_text("1 campaign approved.")
    campaign.refresh_from_db()
    assert campaign.status == S.APPROVED
    page.goto("/admin/campaigns/campaignreview/report/")
    expect(page.locator("#throughput-table")).to_contain_text("rita@moments.test")
    shot(page, "review_report")


def test_two_reviewers_cannot_take_the_same_campaign(browser, live_server, page, world):
    campaign = submitted(world, "Contested Quest", "Reach level 3!", days_ago=1)
    other = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    rex_page = other.new_page()
    try:
        admin_log_in(page, "rita@moments.test")
        admin_log_in(rex_page, "rex@moments.test")
        # Both see the campaign free, with a Take button.
        for each in (page, rex_page):
            expect(each.locator("#result_list .take-button")).to_have_count(1)

        page.locator("#result_list .take-button").click()
        expect(page.locator("#taken-by")).to_contain_text("Taken by you")

        rex_page.locator("#result_list .take-button").click()
        expect(rex_page.locator(".messagelist")).to_contain_text(
            "rita@moments.test took this campaign"
        )
        rex_page.goto(desk(campaign))
        expect(rex_page.locator("#taken-by")).to_contain_text("Taken by rita@moments.test")
        campaign.refresh_from_db()
        assert campaign.review_taken_by == world["rita"]
    finally:
        other.close()


def test_a_stale_tabs_approve_is_refused(page, world):
    campaign = submitted(world, "Edited Quest", "EDIT 1", days_ago=1)
    admin_log_in(page, "rita@moments.test")
    tab_b = page
    tab_b.goto(desk(campaign))
    expect(tab_b.locator(".notification-text").first).to_have_text("EDIT 1")

    tab_a = page.context.new_page()
    tab_a.goto(desk(campaign))
    tab_a.locator("#id_reason").fill("Say what the reward is.")
    tab_a.locator("#reject-campaign").click()
    expect(tab_a.locator(".messagelist")).to_contain_text("1 campaign rejected.")
    set_message(campaign, world["alice"], "EDIT 2 … casino-bonus.example")
    campaign_submit(campaign=campaign, actor=world["alice"])

    tab_b.locator("#approve-campaign").click()

    expect(tab_b.locator(".messagelist")).to_contain_text(
        "The campaign changed since you opened it; nothing was decided."
    )
    expect(tab_b.locator(".notification-text").first).to_have_text("EDIT 2 … casino-bonus.example")
    campaign.refresh_from_db()
    assert campaign.status == S.PENDING_APPROVAL
