# Merges the two parts of issue 10 built in parallel: cases and the travel rule.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0004_case_evidence_decided"),
        ("compliance", "0003_travel_rule"),
    ]

    operations = []
