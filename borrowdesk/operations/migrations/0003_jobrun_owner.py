from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("operations", "0002_jobrun_window")]

    operations = [
        migrations.AddField(
            model_name="jobrun", name="owner", field=models.CharField(blank=True, max_length=120)
        ),
    ]
