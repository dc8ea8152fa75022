from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0004_case_evidence_decided"),
        ("compliance", "0004_kyc"),
    ]
    operations = []
