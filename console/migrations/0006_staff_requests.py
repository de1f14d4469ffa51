"""Requests to staff (SPEC §12): the StaffRequest model, today's Fire TV support requests copied
into it, and the staff groups allowed to read and answer them. The old table is dropped by the
next migration, in its own transaction (PostgreSQL refuses to drop a table in the transaction
that queued foreign-key checks against rows copied from it)."""

import re

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _fire_tv_fields(subject: str, message: str) -> tuple[str, str, str]:
    """The app name, store URL and the developer's own words of a Fire TV support request,
    whose message was written as "App: <name>\nStore URL: <url>\n\n<message>"."""
    app = re.search(r"^App: (.*)$", message, re.M)
    url = re.search(r"^Store URL: (.*)$", message, re.M)
    name = app.group(1).strip() if app else ""
    if not name:
        name = subject.split(":", 1)[-1].strip() or subject or "Fire TV app"
    rest = message
    if app or url:
        rest = message.split("\n\n", 1)[1] if "\n\n" in message else ""
    return name[:120], (url.group(1).strip() if url else "")[:500], rest.strip()


def copy_support_requests(apps, schema_editor):
    SupportRequest = apps.get_model("console", "SupportRequest")
    StaffRequest = apps.get_model("console", "StaffRequest")
    rows = []
    for old in SupportRequest.objects.order_by("pk").iterator():
        row = StaffRequest(
            account_id=old.account_id,
            requested_by_id=old.requested_by_id,
            subject=old.subject[:200],
            details=old.message,
            status="open" if old.status == "open" else "closed",
            created_at=old.created_at,
            kind="other",
        )
        if old.kind == "fire_tv":
            row.kind = "fire_tv"
            row.app_name, row.store_url, row.details = _fire_tv_fields(old.subject, old.message)
        rows.append(row)
    StaffRequest.objects.bulk_create(rows, batch_size=500)


def copy_back(apps, schema_editor):
    SupportRequest = apps.get_model("console", "SupportRequest")
    StaffRequest = apps.get_model("console", "StaffRequest")
    for new in StaffRequest.objects.filter(kind__in=["fire_tv", "other"]).order_by("pk"):
        message = new.details
        if new.kind == "fire_tv":
            message = f"App: {new.app_name}\nStore URL: {new.store_url}\n\n{new.details}".strip()
        SupportRequest.objects.create(
            account_id=new.account_id,
            requested_by_id=new.requested_by_id,
            kind=new.kind,
            subject=new.subject,
            message=message,
            status="open" if new.status == "open" else "closed",
            created_at=new.created_at,
        )


# Staff who work the "Contact us" queue: finance (spend limits, invoice terms) and reviewers
# (own rewards, Merch, Fire TV). Answering needs change_staffrequest (the service checks it).
GROUPS = ("Finance", "Reviewers")


def grant_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after the last migration (post_migrate).
    app_config = apps.get_app_config("console")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True  # historical apps have none
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="console",
        codename__in=["view_staffrequest", "change_staffrequest"],
    )
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*permissions)


def revoke_groups(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    permissions = Permission.objects.filter(
        content_type__app_label="console",
        codename__in=["view_staffrequest", "change_staffrequest"],
    )
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):

    dependencies = [
        ('console', '0005_webhook_endpoints_and_deliveries'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name='StaffRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('spend_limit', 'Raise the monthly spend limit'), ('invoice_terms', 'Pay by invoice instead of card'), ('own_reward', 'A reward of our own (ASIN)'), ('merch', 'Merch t-shirts (US beta)'), ('fire_tv', 'Fire TV app registration'), ('other', 'Something else')], max_length=16)),
                ('status', models.CharField(choices=[('open', 'Open'), ('approved', 'Approved'), ('declined', 'Declined'), ('closed', 'Withdrawn')], default='open', max_length=10)),
                ('subject', models.CharField(max_length=200)),
                ('details', models.TextField(blank=True)),
                ('amount', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                ('asin', models.CharField(blank=True, max_length=10, verbose_name='ASIN')),
                ('marketplace', models.CharField(blank=True, max_length=2)),
                ('app_name', models.CharField(blank=True, max_length=120)),
                ('store_url', models.URLField(blank=True, max_length=500, verbose_name='store URL')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('answer', models.TextField(blank=True)),
                ('answered_at', models.DateTimeField(blank=True, null=True)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='staff_requests', to='console.account')),
                ('answered_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('requested_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
            },
        ),
        migrations.AddIndex(
            model_name='staffrequest',
            index=models.Index(fields=['account', '-created_at'], name='staff_request_account_recent'),
        ),
        migrations.AddIndex(
            model_name='staffrequest',
            index=models.Index(fields=['status', 'created_at'], name='staff_request_queue'),
        ),
        migrations.AddConstraint(
            model_name='staffrequest',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('answered_at__isnull', False), ('status__in', ['approved', 'declined']), models.Q(('answer', ''), _negated=True)), models.Q(models.Q(('status__in', ['approved', 'declined']), _negated=True), ('answered_at__isnull', True)), _connector='OR'), name='staff_request_answered_iff_answer'),
        ),
        migrations.AddConstraint(
            model_name='staffrequest',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'spend_limit'), _negated=True), ('amount__gt', 0), _connector='OR'), name='staff_request_spend_limit_has_amount'),
        ),
        migrations.AddConstraint(
            model_name='staffrequest',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'own_reward'), _negated=True), models.Q(models.Q(('asin', ''), _negated=True), models.Q(('marketplace', ''), _negated=True)), _connector='OR'), name='staff_request_own_reward_has_asin'),
        ),
        migrations.AddConstraint(
            model_name='staffrequest',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'fire_tv'), _negated=True), models.Q(('app_name', ''), _negated=True), _connector='OR'), name='staff_request_fire_tv_has_app'),
        ),
        migrations.AddConstraint(
            model_name='staffrequest',
            constraint=models.UniqueConstraint(condition=models.Q(('kind__in', ['spend_limit', 'invoice_terms', 'merch']), ('status', 'open')), fields=('account', 'kind'), name='staff_request_one_open_per_kind'),
        ),
        migrations.AddConstraint(
            model_name='staffrequest',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'own_reward'), ('status', 'open')), fields=('account', 'asin', 'marketplace'), name='staff_request_one_open_per_asin'),
        ),
        migrations.RunPython(copy_support_requests, copy_back),
        migrations.RunPython(grant_groups, revoke_groups),
    ]
