"""The 13 marketplaces of SPEC §4 and starting exchange rates (staff edit both in admin)."""

from django.db import migrations

from console.marketplaces import ensure_marketplaces


def create(apps, schema_editor):
    ensure_marketplaces(apps.get_model("rewards", "Marketplace"), apps.get_model("rewards", "ExchangeRate"))


class Migration(migrations.Migration):
    dependencies = [("rewards", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
