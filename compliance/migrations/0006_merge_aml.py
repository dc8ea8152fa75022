from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0005_aml"),
        ("compliance", "0005_merge_cases_kyc"),
    ]
    operations = []
