"""The three staff groups (Reviewers, Finance, Support) with their permissions, from the one
list in console/services/staff.py (`manage.py create_staff` ensures the same). Earlier
migrations created Reviewers and Finance piece by piece; this adds Support (the fraud queue)
and whatever either group was missing. Nothing is removed on the way back: the earlier
migrations own what they granted."""

from django.db import migrations


def ensure_groups(apps, schema_editor):
    from console.services.staff import staff_groups_ensure

    staff_groups_ensure(apps=apps, missing_ok=True)


def remove_support(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Support").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("console", "0008_app_support_email"),
        ("campaigns", "0009_review_checklist_seed"),
        ("billing", "0007_invoice_seal"),
        ("rewards", "0010_claim_flag_reason_and_review_permission"),
    ]

    operations = [migrations.RunPython(ensure_groups, remove_support)]
