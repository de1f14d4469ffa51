"""The staff groups of SPEC §1: "Reviewers" work the review queue; "Finance" sees accounts,
spend and the ledger, and sets accounts' spend limits and payment terms.

Reviewers get view permissions and `review_campaign` (approve, reject, suspend), never
`change_campaign`: the admin shows budget, CPA and spend read-only, and a move is not an edit.
Finance's `change_account` is what the account admin's spend-limit field and payment-terms
actions require.
"""

from django.db import migrations

GROUPS = {
    "Reviewers": [
        ("campaigns", "campaign", ["view", "review"]),
        ("campaigns", "campaignreview", ["view"]),
        ("campaigns", "rewardgroup", ["view"]),
        ("campaigns", "moment", ["view"]),
        ("campaigns", "campaigntransition", ["view"]),
        ("console", "account", ["view"]),
        ("console", "app", ["view"]),
        ("rewards", "product", ["view"]),
        ("rewards", "discountcategory", ["view"]),
        ("rewards", "marketplace", ["view"]),
    ],
    "Finance": [
        ("console", "account", ["view", "change"]),
        ("console", "membership", ["view"]),
        ("console", "app", ["view"]),
        ("billing", "paymentmethod", ["view"]),
        ("billing", "ledgerentry", ["view"]),
        ("billing", "accountmonthlyspend", ["view"]),
        ("billing", "campaignmonthlyspend", ["view"]),
        ("campaigns", "campaign", ["view"]),
        ("campaigns", "rewardgroup", ["view"]),
        ("campaigns", "moment", ["view"]),
        ("campaigns", "campaigntransition", ["view"]),
        ("rewards", "marketplace", ["view"]),
        ("rewards", "exchangerate", ["view"]),
    ],
}


def _codename(action: str, model: str) -> str:
    return f"{action}_{model}"


def create_groups(apps, schema_editor):
    # Permissions are normally created after the last migration (post_migrate); create them
    # now so the groups can be given them on a fresh database.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True  # historical apps have none
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, model, actions in grants:
            for action in actions:
                codename = "review_campaign" if action == "review" else _codename(action, model)
                group.permissions.add(
                    Permission.objects.get(
                        content_type__app_label=app_label,
                        content_type__model=model,
                        codename=codename,
                    )
                )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("console", "0001_initial"),
        ("billing", "0002_initial"),
        ("rewards", "0002_marketplaces"),
        ("campaigns", "0003_review_and_notifications"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
