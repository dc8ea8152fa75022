"""The approval queue's index covers the id and the requester, so that the queue's count (the API counts
every row it may act on) and its page of ids read the index alone (index-only scans), not the table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0008_approval_append_only_and_audited"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="borrowrequest",
            name="request_queue_idx",
        ),
        migrations.AddIndex(
            model_name="borrowrequest",
            index=models.Index(
                condition=models.Q(("status__in", ["pending_approval", "pending_second_approval"])),
                fields=["next_role", "-rank_key", "id"],
                include=("requested_by",),
                name="request_queue_idx",
            ),
        ),
    ]
