"""The review desk (issue 20): decisions on the version the reviewer saw, Take, the desk page
with everything to decide and no money, the diff of a resubmission, the policy checklist and
the reviewers' throughput report."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import escape

import pytest
from django.db import close_old_connections, connection
from django.urls import reverse

from campaigns.models import (
    Campaign,
    CampaignSubmission,
    CampaignTransition,
    ReviewChecklistItem,
)
from campaigns.services.review import (
    ReviewRefused,
    campaign_review_approve,
    campaign_review_reject,
    campaign_review_take,
)
from campaigns.services.wizard import campaign_messages_set, campaign_submit
from tests.factories import AppFactory, CampaignFactory, UserFactory

from . import lifecycle_helpers
from .lifecycle_helpers import DAY, pending_campaign, staff_group

finance_in_group = lifecycle_helpers.finance_in_group
reviewer_in_group = lifecycle_helpers.reviewer_in_group

S = Campaign.Status
NOW = datetime(2030, 5, 10, 12, 0, tzinfo=UTC)
QUEUE = reverse("admin:campaigns_campaignreview_changelist")
# An amount with a currency, however written: $1,234.56 · 13,99 € · ¥1480 · USD 12 · 12.50 EUR.
MONEY = re.compile(
    r"[$€£¥￥]\s?\d|\d\s?[$€£¥￥]|\b(?:USD|EUR|GBP|JPY|CAD|AUD|INR|BRL|MXN)\s?\d"
    r"|\d\s?(?:USD|EUR|GBP|JPY|CAD|AUD|INR|BRL|MXN)\b"
)


def desk_url(campaign) -> str:
    return reverse("admin:campaigns_campaignreview_change", args=[campaign.pk])


def approve_url(campaign) -> str:
    return reverse("admin:campaigns_campaignreview_approve", args=[campaign.pk])


def reject_url(campaign) -> str:
    return reverse("admin:campaigns_campaignreview_reject", args=[campaign.pk])


def take_url(campaign) -> str:
    return reverse("admin:campaigns_campaignreview_take", args=[campaign.pk])


def version_on(page: str) -> int:
    return int(re.search(r'name="version" value="(\d+)"', page).group(1))


def set_message(campaign, alice, text: str) -> None:
    campaign_messages_set(
        campaign=campaign,
        actor=alice,
        announcement_message=text,
        announcement_criteria=campaign.announcement_criteria,
        redemption_message=campaign.redemption_message,
        terms=campaign.terms,
    )


@pytest.fixture
def now(time_machine):
    """The clock at NOW; requested before any client logs in (a session from before would have
    expired by then)."""
    time_machine.move_to(NOW, tick=False)
    return NOW


@pytest.fixture
def rex(db):
    """A second reviewer."""
    user = UserFactory(email="rex@moments.test", is_staff=True)
    user.groups.add(staff_group("Reviewers"))
    return user


@pytest.fixture
def reviewer_client(client, reviewer_in_group):
    client.force_login(reviewer_in_group)
    return client


@pytest.fixture
def submitted(complete_draft, card_on_file, alice):
    """The Summer Quest, its message "EDIT 1", submitted through the wizard's service."""
    set_message(complete_draft, alice, "EDIT 1")
    campaign_submit(campaign=complete_draft, actor=alice)
    complete_draft.refresh_from_db()
    return complete_draft


# --- Item 1: the stale tab and the second click ---------------------------------------------


@pytest.mark.django_db
def test_a_stale_tab_cannot_approve_content_it_never_showed(
    client, submitted, alice, reviewer_in_group
):
    client.force_login(reviewer_in_group)
    tab_b = client.get(desk_url(submitted)).content.decode()
    assert "EDIT 1" in tab_b
    seen_in_b = version_on(tab_b)

    # Tab A rejects; the developer edits the message and resubmits.
    tab_a = client.get(desk_url(submitted)).content.decode()
    client.post(reject_url(submitted), {"reason": "Misleading.", "version": version_on(tab_a)})
    set_message(submitted, alice, "EDIT 2 … casino-bonus.example")
    campaign_submit(campaign=submitted, actor=alice)

    response = client.post(approve_url(submitted), {"version": seen_in_b}, follow=True)

    page = response.content.decode()
    assert response.status_code == 200
    assert "The campaign changed since you opened it; nothing was decided." in page
    assert "already rejected by rita@moments.test" in page
    submitted.refresh_from_db()
    assert submitted.status == S.PENDING_APPROVAL
    assert not CampaignTransition.objects.filter(campaign=submitted, to_status=S.APPROVED)
    # The page it lands on shows what is submitted now.
    assert "casino-bonus.example" in page


@pytest.mark.django_db
def test_a_second_approve_click_says_who_already_approved_instead_of_a_404(
    reviewer_client, submitted
):
    version = version_on(reviewer_client.get(desk_url(submitted)).content.decode())
    first = reviewer_client.post(approve_url(submitted), {"version": version}, follow=True)
    assert "1 campaign approved." in first.content.decode()

    second = reviewer_client.post(approve_url(submitted), {"version": version}, follow=True)

    page = second.content.decode()
    assert second.status_code == 200
    assert "No CampaignReview matches" not in page
    assert "This campaign was already approved by rita@moments.test on" in page
    assert CampaignTransition.objects.filter(campaign=submitted, to_status=S.APPROVED).count() == 1


@pytest.mark.django_db
def test_a_decision_without_the_version_the_page_showed_is_refused(reviewer_client, submitted):
    response = reviewer_client.post(approve_url(submitted), follow=True)
    assert "The campaign changed since you opened it" in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == S.PENDING_APPROVAL


@pytest.mark.django_db
def test_every_wizard_step_and_every_move_bumps_the_version(
    complete_draft, card_on_file, alice, reviewer_in_group
):
    start = complete_draft.version
    set_message(complete_draft, alice, "EDIT 1")
    complete_draft.refresh_from_db()
    assert complete_draft.version == start + 1
    campaign_submit(campaign=complete_draft, actor=alice)
    complete_draft.refresh_from_db()
    assert complete_draft.version == start + 2
    assert CampaignSubmission.objects.get(campaign=complete_draft).version == start + 2


# --- Item 3: reviewers never see money ---------------------------------------------------------


@pytest.mark.django_db
def test_the_queue_and_the_desk_show_a_reviewer_no_money(now, reviewer_client, acme_app):
    campaign = pending_campaign(
        app=acme_app,
        submitted_at=NOW - DAY,
        total_budget=Decimal("1234.5600"),
        cpa=Decimal("3.2100"),
        banner="banners/quest.png",
    )
    for url in (QUEUE, desk_url(campaign)):
        page = reviewer_client.get(url).content.decode()
        assert campaign.name in page
        assert not MONEY.search(page), MONEY.search(page)
        for figure in ("1234", "1,234", "3.21", "Total budget", "cost per action", "Spent"):
            assert figure not in page


# --- The desk page -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_desk_shows_everything_needed_to_decide(reviewer_client, submitted, acme_app):
    earlier = CampaignFactory(app=acme_app, name="Winter Quest", status=S.REJECTED)
    earlier.submitted_at = NOW
    earlier.save(update_fields=["submitted_at"])  # a fixture of history, not a move
    CampaignTransition.objects.create(
        campaign=earlier,
        from_status=S.PENDING_APPROVAL,
        to_status=S.REJECTED,
        reason="Amazon logo on the banner.",
    )

    page = reviewer_client.get(desk_url(submitted)).content.decode()

    assert f'id="banner-real-size" src="{submitted.banner.url}" width="3000" height="600"' in page
    assert submitted.terms.split(".")[0] in page
    assert f'href="{acme_app.store_url}"' in page and "Space Miner" in page
    assert "Wireless Earbuds" in page and "LEVEL_10_COMPLETE" in page
    assert "EDIT 1" in page  # the notification message as written
    assert f'src="/r/test/{submitted.campaign_id}/?group=US"' in page
    assert "Winter Quest" in page and "Amazon logo on the banner." in page
    for item in ReviewChecklistItem.objects.filter(active=True):
        assert escape(item.text) in page
    assert 'id="approve-campaign"' in page and 'id="reject-campaign"' in page
    assert "review_desk.js" in page


@pytest.mark.django_db
def test_a_reviewer_sees_the_shopper_page_of_a_pending_campaign_and_nobody_else_does(
    client, reviewer_in_group, submitted
):
    url = f"/r/test/{submitted.campaign_id}/?group=US"
    assert client.get(url).status_code == 404
    client.force_login(reviewer_in_group)
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"  # framed by the desk


@pytest.mark.django_db
def test_the_policy_checklist_is_seeded_with_the_issues_three_rules():
    texts = list(ReviewChecklistItem.objects.values_list("text", flat=True))
    assert texts[:3] == [
        "The banner has no Amazon logo except the “Delivered through” badge.",
        "The terms state the end date.",
        "The rewards suit the app's audience.",
    ]
    assert all(ReviewChecklistItem.objects.values_list("rejection_text", flat=True))


@pytest.mark.django_db
def test_a_failed_checklist_item_blocks_approval_and_the_rejection_records_it(
    reviewer_client, submitted
):
    logo, terms = ReviewChecklistItem.objects.all()[:2]
    version = version_on(reviewer_client.get(desk_url(submitted)).content.decode())
    marks = {f"check-{logo.pk}": "fail", f"check-{terms.pk}": "pass", "version": version}

    refused = reviewer_client.post(approve_url(submitted), marks, follow=True)
    assert "A checklist item failed" in refused.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == S.PENDING_APPROVAL

    reviewer_client.post(reject_url(submitted), {**marks, "reason": logo.rejection_text})
    submitted.refresh_from_db()
    assert (submitted.status, submitted.rejection_reason) == (S.REJECTED, logo.rejection_text)
    rejected = CampaignSubmission.objects.get(campaign=submitted)
    assert rejected.outcome == "rejected" and rejected.decided_by_label == "rita@moments.test"
    assert rejected.checklist == [
        {"item": logo.pk, "text": logo.text, "passed": False},
        {"item": terms.pk, "text": terms.text, "passed": True},
    ]


@pytest.mark.django_db
def test_a_resubmission_shows_the_diff_against_the_rejected_round_field_by_field(
    reviewer_client, submitted, alice, reviewer_in_group
):
    campaign_review_reject(
        campaign=submitted,
        actor=reviewer_in_group,
        version=submitted.version,
        reason="The message promises a casino bonus.",
    )
    set_message(submitted, alice, "EDIT 2: reach level 10 for earbuds")
    campaign_submit(campaign=submitted, actor=alice)

    page = reviewer_client.get(desk_url(submitted)).content.decode()

    diff = page[page.index('id="review-diff"') :]
    diff = diff[: diff.index("</section>")]
    assert "Changed since the rejected round 1" in diff
    assert "The message promises a casino bonus." in diff
    assert "<th>Notification message</th>" in diff
    assert "<del>EDIT 1</del>" in diff and "<ins>EDIT 2: reach level 10 for earbuds</ins>" in diff
    assert "<th>Terms</th>" not in diff and "<th>Name</th>" not in diff  # unchanged
    rounds = CampaignSubmission.objects.filter(campaign=submitted).order_by("number")
    assert [(r.number, r.outcome) for r in rounds] == [(1, "rejected"), (2, "pending")]
    assert rounds[0].snapshot["announcement_message"] == "EDIT 1"


# --- The queue and Take ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_queue_runs_by_deadline_with_age_due_days_overdue_in_red_and_the_taker(
    now, reviewer_client, reviewer_in_group, acme_app
):
    fresh = pending_campaign(app=acme_app, submitted_at=NOW - 2 * DAY, name="Fresh Quest")
    late = pending_campaign(app=acme_app, submitted_at=NOW - 9 * DAY, name="Late Quest")
    campaign_review_take(campaign=fresh, actor=reviewer_in_group)

    page = reviewer_client.get(QUEUE).content.decode()

    assert page.index("Late Quest") < page.index("Fresh Quest")
    assert '<strong class="review-overdue" style="color:#ba2121">overdue by 2 days</strong>' in page
    assert "due in 5 days" in page
    assert "9 days" in page and "2 days" in page
    assert '<span class="taken-by">rita@moments.test</span>' in page
    assert f'formaction="{take_url(late)}"' in page
    assert f'formaction="{take_url(fresh)}"' not in page


@pytest.mark.django_db
def test_take_the_oldest_takes_the_earliest_deadline_nobody_holds(
    now, reviewer_client, rex, acme_app
):
    oldest = pending_campaign(app=acme_app, submitted_at=NOW - 5 * DAY, name="Oldest")
    second = pending_campaign(app=acme_app, submitted_at=NOW - 4 * DAY, name="Second")
    campaign_review_take(campaign=oldest, actor=rex)

    response = reviewer_client.post(reverse("admin:campaigns_campaignreview_next"))

    assert response.url == desk_url(second)
    second.refresh_from_db()
    assert second.review_taken_by.email == "rita@moments.test"


@pytest.mark.django_db
def test_a_campaign_taken_by_one_reviewer_is_refused_to_another_until_the_claim_lapses(
    now, time_machine, client, reviewer_in_group, rex, acme_app
):
    campaign = pending_campaign(app=acme_app, submitted_at=NOW - DAY)
    campaign_review_take(campaign=campaign, actor=reviewer_in_group)

    client.force_login(rex)
    refused = client.post(take_url(campaign), follow=True).content.decode()
    assert "rita@moments.test took this campaign at" in refused
    approve = client.post(approve_url(campaign), {"version": campaign.version}, follow=True)
    assert "rita@moments.test has taken this campaign" in approve.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == S.PENDING_APPROVAL

    time_machine.move_to(NOW + timedelta(minutes=61), tick=False)
    assert client.post(take_url(campaign)).url == desk_url(campaign)
    campaign.refresh_from_db()
    assert campaign.review_taken_by == rex
    campaign_review_approve(campaign=campaign, actor=rex, version=campaign.version)
    campaign.refresh_from_db()
    assert campaign.status == S.APPROVED and campaign.review_taken_by is None


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_taking_the_same_campaign_at_once_on_postgresql_only_one_wins(postgres):
    app = AppFactory()
    campaign = pending_campaign(app=app, submitted_at=NOW)
    reviewers = []
    for email in ("rita@moments.test", "rex@moments.test", "ria@moments.test", "ron@moments.test"):
        user = UserFactory(email=email, is_staff=True)
        user.groups.add(staff_group("Reviewers"))
        reviewers.append(user)
    barrier = threading.Barrier(len(reviewers))
    won: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def take(user):
        try:
            barrier.wait(timeout=10)
            campaign_review_take(campaign=Campaign.objects.get(pk=campaign.pk), actor=user)
            won.append(user.email)
        except ReviewRefused as exc:
            refused.append(str(exc))
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=take, args=(user,)) for user in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert len(won) == 1 and len(refused) == 3
    campaign.refresh_from_db()
    assert campaign.review_taken_by.email == won[0]
    assert all(f"{won[0]} took this campaign" in message for message in refused)


# --- The throughput report ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_throughput_report_counts_decisions_per_day_per_reviewer_and_overdue(
    client, reviewer_in_group, rex, finance_in_group, acme_app, time_machine
):
    time_machine.move_to(NOW - 2 * DAY, tick=False)
    a = pending_campaign(app=acme_app, submitted_at=NOW - 4 * DAY, name="A")  # 2 days waited
    campaign_review_approve(campaign=a, actor=reviewer_in_group, version=a.version)
    time_machine.move_to(NOW, tick=False)
    b = pending_campaign(app=acme_app, submitted_at=NOW - 1 * DAY, name="B")  # 1 day
    campaign_review_reject(campaign=b, actor=rex, version=b.version, reason="Blurry banner.")
    c = pending_campaign(app=acme_app, submitted_at=NOW - 3 * DAY, name="C")  # 3 days
    campaign_review_approve(campaign=c, actor=reviewer_in_group, version=c.version)
    pending_campaign(app=acme_app, submitted_at=NOW - 8 * DAY, name="Late")
    pending_campaign(app=acme_app, submitted_at=NOW - 1 * DAY, name="Fresh")
    report_url = reverse("admin:campaigns_campaignreview_report")

    client.force_login(finance_in_group)
    assert client.get(report_url).status_code == 403
    client.force_login(reviewer_in_group)
    page = client.get(report_url, {"days": 7}).content.decode()

    assert "1 overdue</strong>" in page and "of 2 pending" in page
    assert '<strong id="median-hours">48.0 h</strong>' in page
    rita = page[page.index("<th>rita@moments.test</th>") :].split("</tr>")[0]
    assert rita.count("<td>1</td>") == 2 and "<strong>2</strong>" in rita and "60.0 h" in rita
    rex_row = page[page.index("<th>rex@moments.test</th>") :].split("</tr>")[0]
    assert "<strong>1</strong>" in rex_row and "24.0 h" in rex_row


@pytest.mark.django_db
def test_every_path_of_a_decision_closes_its_round_and_frees_the_claim(
    submitted, alice, reviewer_in_group
):
    from campaigns.services.lifecycle import campaign_approve, campaign_reject

    campaign_review_take(campaign=submitted, actor=reviewer_in_group)
    campaign_reject(campaign=submitted, actor=reviewer_in_group, reason="Blurry banner.")
    set_message(submitted, alice, "EDIT 2")
    campaign_submit(campaign=submitted, actor=alice)
    submitted.refresh_from_db()
    campaign_approve(campaign=submitted, actor=reviewer_in_group)

    submitted.refresh_from_db()
    assert submitted.review_taken_by is None
    rounds = CampaignSubmission.objects.filter(campaign=submitted).order_by("number")
    assert [(r.number, r.outcome, r.reason) for r in rounds] == [
        (1, "rejected", "Blurry banner."),
        (2, "approved", ""),
    ]
    assert all(r.decided_by_label == "rita@moments.test" for r in rounds)


@pytest.mark.django_db
def test_a_superuser_edits_the_policy_and_the_desk_shows_it(client, reviewer_in_group, submitted):
    item = ReviewChecklistItem.objects.first()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    change = reverse("admin:campaigns_reviewchecklistitem_change", args=[item.pk])
    response = client.post(
        change,
        {
            "text": "No logos of other stores.",
            "rejection_text": "Remove the other store's logo.",
            "position": 1,
            "active": "on",
        },
    )
    assert response.status_code == 302

    client.force_login(reviewer_in_group)
    page = client.get(desk_url(submitted)).content.decode()
    assert "No logos of other stores." in page
    assert 'data-rejection-text="Remove the other store&#x27;s logo."' in page
    # Reviewers read the policy; they do not rewrite it.
    assert client.post(change, {"text": "Anything goes."}).status_code == 403
