"""The Fire TV support requests now live in StaffRequest (copied by the previous migration)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0006_staff_requests"),
    ]

    operations = [
        migrations.DeleteModel(name="SupportRequest"),
    ]
