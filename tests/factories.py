"""factory-boy factories for the models the tests build."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from console.models import Account, App, Membership

PASSWORD = "correct-horse-battery-staple-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    username = factory.LazyAttribute(lambda o: o.email)
    password = factory.django.Password(PASSWORD)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")
    country = "US"
    billing_address = "1 Main Street\nSeattle, WA 98101"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    account = factory.SubFactory(AccountFactory)
    user = factory.SubFactory(UserFactory)
    role = "admin"


class AppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = App

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"App {n}")
    platform = "android"
    store_url = "https://play.example.test/store/apps/details?id=com.example"
