# Merges the two parts of issue 10 built in parallel: cases and the travel rule.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0003_cases"),
        ("compliance", "0003_travel_rule"),
    ]

    operations = []
