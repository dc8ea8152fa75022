"""Keep planner statistics on refdata's small tables (assets, venues).

Autovacuum analyzes a table once ``autovacuum_analyze_threshold`` (50) + 10 % of its rows have changed
since the last analyze. A table of twenty assets loaded once never gets there, so it never has
statistics, and the planner guesses its size from its pages (hundreds of rows): the coverage query
(collateral/sql/coverage.sql), which joins every position and loan to the asset list, then plans its
joins for an asset table many times its size (in the collateral benchmark the query's database CPU
against the plain aggregate went from 1.94 to 1.75–1.78 once the table was analyzed). A threshold of
5 changes analyzes such a table after its first load and after every few edits, at no cost worth
naming (an analyze of a few rows). The ANALYZE here gives an existing database its statistics now.
"""

from django.db import migrations

TABLES = ("refdata_asset", "refdata_venue")


class Migration(migrations.Migration):
    dependencies = [("refdata", "0004_asset_networks")]

    operations = [
        migrations.RunSQL(
            sql=[f"ALTER TABLE {t} SET (autovacuum_analyze_threshold = 5)" for t in TABLES]
            + [f"ANALYZE {t}" for t in TABLES],
            reverse_sql=[f"ALTER TABLE {t} RESET (autovacuum_analyze_threshold)" for t in TABLES],
        ),
    ]
