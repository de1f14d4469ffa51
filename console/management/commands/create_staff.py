"""`manage.py create_staff --role reviewer|finance|support EMAIL`: a Moments staff user in the
group of their role (README, "Staff").

Creates the user, or puts an existing staff user in that group too (a finance user who also
works the fraud queue runs it twice). The password is never an argument (it would stay in the
shell's history): `--password-env NAME` reads it from that environment variable; without it, a
new user gets no usable password and the command prints a link where they set one.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from console.services.staff import STAFF_GROUP_DUTIES, STAFF_ROLES, staff_user_set


def password_set_link(user) -> str:
    """Django's password-reset link for `user` (valid PASSWORD_RESET_TIMEOUT, used once)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    return f"{settings.SITE_URL}{path}"


class Command(BaseCommand):
    help = "Create a Moments staff user (reviewer, finance or support), or add a role to one."

    def add_arguments(self, parser):
        parser.add_argument("email", help="the staff member's own email address")
        parser.add_argument(
            "--role",
            required=True,
            choices=sorted(STAFF_ROLES),
            help="reviewer: the review queue; finance: invoices and spend limits; "
            "support: the fraud queue",
        )
        parser.add_argument(
            "--password-env",
            metavar="NAME",
            help="read the password from this environment variable (otherwise a link to "
            "set one is printed)",
        )

    def handle(self, *args, email: str, role: str, password_env: str | None, **options):
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"The environment variable {password_env} is empty or unset.")
        try:
            user, created = staff_user_set(email=email, role=role, password=password)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        group = STAFF_ROLES[role]
        verb = "Created" if created else "Updated"
        self.stdout.write(
            f"{verb} staff user {user.email} in the {group} group ({STAFF_GROUP_DUTIES[group]})."
        )
        if password is not None:
            self.stdout.write("Password set from the environment.")
        elif created or not user.has_usable_password():
            self.stdout.write(
                f"They set their password here (valid once): {password_set_link(user)}"
            )
        self.stdout.write(f"Sign in at {settings.SITE_URL}{reverse('admin:index')}")
