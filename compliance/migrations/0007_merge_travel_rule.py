from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0005_merge_cases_travel_rule"),
        ("compliance", "0006_merge_aml"),
    ]
    operations = []
