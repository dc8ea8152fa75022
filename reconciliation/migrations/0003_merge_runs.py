from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0002_runs"),
        ("reconciliation", "0002_statement_lines_checked_per_insert"),
    ]
    operations = []
