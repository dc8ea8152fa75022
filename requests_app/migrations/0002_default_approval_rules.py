"""Seed the approval matrix with the desk's defaults (admin-editable afterwards)."""

from django.db import migrations

DEFAULT_RULES = [
    # precedence, name, min, max, risk ratings, steps
    (10, "High-risk counterparty", 0, None, ["high"], ["ops", "risk"]),
    (20, "Large notional", 2_500_000, None, [], ["ops", "risk"]),
    (30, "Medium notional", 250_000, 2_500_000, [], ["ops", "ops_senior"]),
    (40, "Small notional", 0, 250_000, [], ["ops"]),
]


def seed(apps, schema_editor):
    rule = apps.get_model("requests_app", "ApprovalRule")
    for precedence, name, low, high, risks, steps in DEFAULT_RULES:
        rule.objects.get_or_create(
            precedence=precedence,
            defaults={"name": name, "min_notional_usd": low, "max_notional_usd": high, "risk_ratings": risks,
                      "steps": steps},
        )


def unseed(apps, schema_editor):
    apps.get_model("requests_app", "ApprovalRule").objects.filter(
        precedence__in=[r[0] for r in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
