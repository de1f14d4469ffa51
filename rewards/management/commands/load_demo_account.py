"""`python manage.py load_demo_account`: create, or reset, the demo developer account (see
console/pages/demo.py) and print how to sign in and call the API. Development only: it refuses with
DEBUG off unless --force."""

from __future__ import annotations

import json
import os
from pathlib import Path

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
            "--save",
            metavar="PATH",
            help="Write the sign-in details (the --json fields and the URL) to PATH, readable by "
            "its owner only, and print one line: what `make run` uses, so that "
            "`manage.py console_ready` prints them last, once the servers answer.",
        )
        parser.add_argument(
            "--if-debug",
            action="store_true",
            help="With DEBUG off, do nothing and exit 0 (what `make run` uses).",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            if options["if_debug"]:
                if options["save"]:
                    # No stale sign-in from an earlier DEBUG run in the box.
                    Path(options["save"]).unlink(missing_ok=True)
                self.stdout.write("DEBUG is off: the demo account was not loaded.")
                return
            raise CommandError(
                "load_demo_account creates a developer account with a known password and "
                "resets an earlier one: it runs only with DEBUG on. Set DEBUG=1, or pass "
                "--force if you really mean it on this database."
            )
        demo = demo_account_load()
        details = {
            "email": demo.email,
            "password": demo.password,
            "app_id": demo.app_id,
            "api_key": demo.api_key,
            "live_campaign_id": demo.live_campaign_id,
            "approved_campaign_id": demo.approved_campaign_id,
        }
        if options["save"]:
            self._save(
                Path(options["save"]),
                {**details, "charges": demo.charges, "retired": demo.retired or ""},
            )
            self.stdout.write(
                f"Demo account ready ({demo.charges} charges): how to sign in is printed once "
                "the servers answer."
            )
            return
        if options["json"]:
            self.stdout.write(json.dumps(details))
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

    @staticmethod
    def _save(path: Path, details: dict) -> None:
        """The details as JSON, created readable by the owner only (it holds a password and
        an API key)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(details, file)
