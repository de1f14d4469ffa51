"""When a campaign goes live and when it ends, stored once at approval (goes_live_at, ends_at),
so the API's SQL function, the Python path, the sweep, the GetRewardInfo cache and the campaign
list compare columns instead of re-deriving the dates. Existing campaigns past approval get the
values the approval would have stored."""

from django.db import migrations, models

PAST_APPROVAL = ("approved", "live", "finished", "suspended")


def fill_schedule(apps, schema_editor):
    from campaigns.services.lifecycle import campaign_schedule

    Campaign = apps.get_model("campaigns", "Campaign")
    rows = Campaign.objects.filter(status__in=PAST_APPROVAL).only(
        "submitted_at", "start_date", "end_date"
    )
    changed = []
    for campaign in rows.iterator(chunk_size=2000):
        campaign.goes_live_at, campaign.ends_at = campaign_schedule(
            submitted_at=campaign.submitted_at,
            start_date=campaign.start_date,
            end_date=campaign.end_date,
        )
        changed.append(campaign)
    Campaign.objects.bulk_update(changed, ["goes_live_at", "ends_at"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0004_staff_groups"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="ends_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="campaign",
            name="goes_live_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="campaign",
            index=models.Index(fields=["status", "goes_live_at"], name="campaign_status_goes_live"),
        ),
        migrations.AddIndex(
            model_name="campaign",
            index=models.Index(fields=["status", "ends_at"], name="campaign_status_ends"),
        ),
        migrations.RunPython(fill_schedule, migrations.RunPython.noop),
    ]
