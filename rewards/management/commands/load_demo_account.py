"""`python manage.py load_demo_account`: create, or reset, the demo developer account (see
console/pages/demo.py) and print how to sign in and call the API. Development only: it refuses with
DEBUG off unless --force."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from console.pages.demo import demo_account_load


class Command(BaseCommand):
    help = (
        "Create (or reset) the demo developer account: an app with a fresh API key, a live "
        "campaign with a few hundred charges over the last 60 days, an approved (test mode) "
        "campaign, one pending approval and a draft."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print only {email, password, app_id, api_key, live_campaign_id, "
            "approved_campaign_id} as JSON.",
        )
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (not in production!)."
        )
        parser.add_argument(
            "--if-debug",
            action="store_true",
            help="With DEBUG off, do nothing and exit 0 (what `make run` uses).",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            if options["if_debug"]:
                self.stdout.write("DEBUG is off: the demo account was not loaded.")
                return
            raise CommandError(
                "load_demo_account creates a developer account with a known password and "
                "resets an earlier one: it runs only with DEBUG on. Set DEBUG=1, or pass "
                "--force if you really mean it on this database."
            )
        demo = demo_account_load()
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "email": demo.email,
                        "password": demo.password,
                        "app_id": demo.app_id,
                        "api_key": demo.api_key,
                        "live_campaign_id": demo.live_campaign_id,
                        "approved_campaign_id": demo.approved_campaign_id,
                    }
                )
            )
            return
        reset = f" (the previous one was retired: {demo.retired})" if demo.retired else ""
        self.stdout.write(
            f"Demo account ready{reset}.\n"
            f"  Sign in at {settings.SITE_URL}/login/\n"
            f"    email:    {demo.email}\n"
            f"    password: {demo.password}\n"
            f"  App ID:   {demo.app_id}\n"
            f"  API key:  {demo.api_key}  (shown once)\n"
            f"  Live campaign:     {demo.live_campaign_id} ({demo.charges} charges, last 60 days)\n"
            f"  Approved campaign: {demo.approved_campaign_id} (test mode)\n"
            f"  Pending approval:  {demo.pending_campaign_id}; one draft.\n"
            f"  Fraud queue: {demo.flagged} flagged claim(s) to practise on, in Django admin "
            f"→ Rewards → Claims (create a Support user: manage.py create_staff --role support)."
        )
