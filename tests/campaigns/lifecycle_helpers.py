"""Builders and fixtures of the lifecycle tests (import the fixtures into a test module to use
them; h2 owns tests/campaigns/conftest.py)."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group

from campaigns.models import Campaign
from tests.factories import CampaignFactory, MomentFactory, ProductFactory, RewardGroupFactory

DAY = timedelta(days=1)


def pending_campaign(*, app, submitted_at: datetime, **fields) -> Campaign:
    """A complete campaign submitted at `submitted_at`, with a US reward group and a moment.
    (Factories set the status to build fixtures; product code only moves it by service.)"""
    campaign = CampaignFactory(
        app=app, status=Campaign.Status.PENDING_APPROVAL, submitted_at=submitted_at, **fields
    )
    group = RewardGroupFactory(campaign=campaign, marketplace_id="US", quantity_limit=100)
    group.products.add(ProductFactory(title="Wireless Earbuds Pro"))
    MomentFactory(campaign=campaign, moment_id="LEVEL_10_COMPLETE")
    return campaign


def staff_group(name: str) -> Group:
    """The group created by the data migrations. A transactional test's flush empties tables,
    groups included (and with pytest-xdist a worker may run such a test before this one);
    recreate it the same way the migrations do when it is gone."""
    group = Group.objects.filter(name=name).first()
    if group is None:
        # The one list of the groups' permissions, as the data migration applies it.
        from console.services.staff import staff_groups_ensure

        group = staff_groups_ensure(apps=django_apps)[name]
    return group


def checklist_seeded():
    """The review policy's checklist as its data migration seeds it; a transactional test's
    flush empties the table, so seed it again when it is gone."""
    from campaigns.models import ReviewChecklistItem

    if not ReviewChecklistItem.objects.exists():
        module = importlib.import_module("campaigns.migrations.0009_review_checklist_seed")
        module.seed(django_apps, None)
    return list(ReviewChecklistItem.objects.all())


@pytest.fixture
def reviewer_in_group(reviewer):
    reviewer.groups.add(staff_group("Reviewers"))
    return reviewer


@pytest.fixture
def finance_in_group(finance):
    finance.groups.add(staff_group("Finance"))
    return finance


@pytest.fixture
def celery_eager():
    """Run tasks in-process (as the worker would), so their emails land in mail.outbox."""
    from console.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous
