"""Keep planner statistics on collateral's small configuration tables.

The coverage query (collateral/sql/coverage.sql) reads the haircut rules, mark policies and agreements
in force. These tables hold tens to hundreds of rows and change a few rows at a time, so autovacuum's
default (analyze after 50 + 10 % of the rows changed) may leave them without statistics for good, and
the planner then guesses their size from their pages. A threshold of 5 changes keeps them analyzed
(see refdata 0005 for the asset table, the one that mattered most in the benchmark).
"""

from django.db import migrations

TABLES = (
    "collateral_haircutrule",
    "collateral_markpolicy",
    "collateral_collateralagreement",
    "collateral_stressscenario",
)


class Migration(migrations.Migration):
    dependencies = [("collateral", "0003_config_rejection")]

    operations = [
        migrations.RunSQL(
            sql=[f"ALTER TABLE {t} SET (autovacuum_analyze_threshold = 5)" for t in TABLES]
            + [f"ANALYZE {t}" for t in TABLES],
            reverse_sql=[f"ALTER TABLE {t} RESET (autovacuum_analyze_threshold)" for t in TABLES],
        ),
    ]
