"""The review desk's policy checklist, seeded with the three rules of issue 20 (staff edit them
in admin afterwards), and the Reviewers group's permissions: reviewers read the checklist and
the rounds of review; superusers edit the policy (its items and canned texts)."""

from django.db import migrations

ITEMS = [
    (
        "The banner has no Amazon logo except the “Delivered through” badge.",
        "The banner shows an Amazon logo. Only the “Delivered through Amazon” badge may appear; "
        "please remove any other Amazon logo or trademark from the banner and resubmit.",
    ),
    (
        "The terms state the end date.",
        "The terms and conditions must state the date the offer ends. Please add the end date "
        "to the terms and resubmit.",
    ),
    (
        "The rewards suit the app's audience.",
        "The rewards do not suit the app's audience (for example, items for adults in an app "
        "for children). Please choose rewards suitable for your players and resubmit.",
    ),
]

REVIEWER_GRANTS = [
    ("reviewchecklistitem", ["view"]),
    ("campaignsubmission", ["view"]),
]


def seed(apps, schema_editor):
    Item = apps.get_model("campaigns", "ReviewChecklistItem")
    for position, (text, rejection_text) in enumerate(ITEMS, start=1):
        Item.objects.get_or_create(
            text=text, defaults={"rejection_text": rejection_text, "position": position}
        )
    grant_reviewers(apps, schema_editor)


def grant_reviewers(apps, schema_editor):
    # Permissions are normally created after the last migration; create them now.
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("campaigns")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Reviewers")
    for model, actions in REVIEWER_GRANTS:
        for action in actions:
            group.permissions.add(
                Permission.objects.get(
                    content_type__app_label="campaigns",
                    content_type__model=model,
                    codename=f"{action}_{model}",
                )
            )


def unseed(apps, schema_editor):
    apps.get_model("campaigns", "ReviewChecklistItem").objects.filter(
        text__in=[text for text, _ in ITEMS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("campaigns", "0008_review_desk"),
        ("campaigns", "0004_staff_groups"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
