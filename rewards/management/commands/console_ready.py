"""`python manage.py console_ready`: wait until the web server answers, then print one box with
the URL, how to sign in to the demo account (saved by `load_demo_account --save`), where the
emails and the worker's logs go. What `make run` prints last, so nothing buries it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

FILE_EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


def _answers(url: str) -> bool:
    """True once `url` answers 200 (the health check: database, cache and broker reachable)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own URL)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def emails_go_to() -> str:
    """Where this process's settings send email, in words."""
    backend = settings.EMAIL_BACKEND
    if backend == FILE_EMAIL_BACKEND:
        return f"{settings.EMAIL_FILE_PATH}/ (one file per message)"
    if backend.endswith("console.EmailBackend"):
        return "printed in this terminal"
    if backend.endswith("smtp.EmailBackend"):
        return f"sent through {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    return backend


def box(lines: list[str]) -> str:
    """`lines` framed, the frame as wide as the longest line."""
    width = max(len(line) for line in lines)
    top = "┌" + "─" * (width + 2) + "┐"
    bottom = "└" + "─" * (width + 2) + "┘"
    return "\n".join([top, *(f"│ {line.ljust(width)} │" for line in lines), bottom])


class Command(BaseCommand):
    help = (
        "Wait until the web server answers its health check, then print the URL and how to "
        "sign in to the demo account (make run's last lines)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", default=settings.SITE_URL, help="The console's URL (default: SITE_URL)."
        )
        parser.add_argument(
            "--demo",
            metavar="PATH",
            help="The file `load_demo_account --save` wrote (absent: no demo account).",
        )
        parser.add_argument("--logs", metavar="DIR", help="Where the worker and beat log.")
        parser.add_argument(
            "--timeout", type=float, default=120.0, help="Seconds to wait (default 120)."
        )

    def handle(self, *args, **options):
        url = options["url"].rstrip("/")
        deadline = time.monotonic() + options["timeout"]
        while not _answers(f"{url}/healthz"):
            if time.monotonic() > deadline:
                raise CommandError(
                    f"{url}/healthz did not answer 200 within {options['timeout']:.0f} s: see "
                    "the messages above (and the worker's log)."
                )
            time.sleep(0.5)
        self.stdout.write(box(self._lines(url, options)))

    def _lines(self, url: str, options) -> list[str]:
        lines = [f"Moments Console is running on {url}/", ""]
        demo_path = Path(options["demo"]) if options["demo"] else None
        if demo_path is not None and demo_path.exists():
            demo = json.loads(demo_path.read_text())
            lines += [
                f"Sign in at {url}/login/",
                f"  email:     {demo['email']}",
                f"  password:  {demo['password']}",
                "",
                f"App ID:      {demo['app_id']}",
                f"API key:     {demo['api_key']}",
                f"Live campaign:     {demo['live_campaign_id']} ({demo['charges']} charges)",
                f"Approved campaign: {demo['approved_campaign_id']} (test mode)",
            ]
        else:
            lines.append(f"No demo account (DEBUG is off): sign up at {url}/signup/")
        lines += ["", f"Emails:      {emails_go_to()}"]
        if options["logs"]:
            lines.append(f"Worker, beat: {options['logs'].rstrip('/')}/worker.log, beat.log")
        lines.append("Ctrl-C stops the web server, the worker and beat.")
        return lines
