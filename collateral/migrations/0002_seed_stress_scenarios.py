"""Seed version 1 of the desk's three stress scenarios (issue 9).

Markdowns are stored by asset symbol ({"BTC": "30"}: a 30 % price fall) and resolved to assets when a
scenario runs (a symbol not in reference data is ignored there, with a note in the result). A data
migration: no model imports (``apps.get_model``); idempotent, so a test that flushed the database can
seed again with ``seed_scenarios`` (tests/collateral/stress_helpers.py does).
"""

from decimal import Decimal

from django.db import migrations

# (name, description, markdowns by symbol, other non-stable assets %, stablecoins %, recall fraction)
SEEDED_SCENARIOS = [
    (
        "crypto crash",
        "A broad crypto sell-off: BTC falls 30 %, ETH 40 %, every other non-stable asset 50 %, "
        "stablecoins 2 %.",
        {"BTC": "30", "ETH": "40"},
        Decimal("50"),
        Decimal("2"),
        Decimal("0"),
    ),
    (
        "stablecoin depeg",
        "USDT loses its peg and falls 10 %; nothing else moves.",
        {"USDT": "10"},
        Decimal("0"),
        Decimal("0"),
        Decimal("0"),
    ),
    (
        "lender run",
        "Lenders recall half of the inventory they lent the desk; prices do not move.",
        {},
        Decimal("0"),
        Decimal("0"),
        Decimal("0.5"),
    ),
]


def seed_scenarios(apps, schema_editor=None):
    StressScenario = apps.get_model("collateral", "StressScenario")
    for name, description, markdowns, other, stable, recall in SEEDED_SCENARIOS:
        if StressScenario.objects.filter(name=name).exists():
            continue  # a version exists already (seeded before, or saved by risk): leave it
        StressScenario.objects.create(
            name=name,
            version=1,
            description=description,
            markdowns=markdowns,
            other_markdown_pct=other,
            stablecoin_markdown_pct=stable,
            haircut_addon_pct=Decimal("0"),
            recall_fraction=recall,
            is_active=True,
        )


def unseed_scenarios(apps, schema_editor):
    StressScenario = apps.get_model("collateral", "StressScenario")
    names = [name for name, *_ in SEEDED_SCENARIOS]
    # Only the seeded first versions nobody has saved over; later versions are risk's work.
    for name in names:
        versions = StressScenario.objects.filter(name=name)
        if versions.count() == 1 and versions.filter(version=1, created_by__isnull=True).exists():
            versions.delete()


class Migration(migrations.Migration):
    dependencies = [("collateral", "0001_initial")]

    operations = [migrations.RunPython(seed_scenarios, unseed_scenarios)]
