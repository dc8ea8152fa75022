from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("refdata", "0005_analyze_small_tables"),
        ("refdata", "0005_custodian_mapping"),
    ]
    operations = []
