"""The ledger keeps one SQL primitive, ``inventory_post_journal``, its source in ``inventory/sql/post_journal.sql``.

``inventory_write_journal`` is folded into it, and ``inventory_source_account`` (the default source
account of a loan) becomes a query of the service (``choose_source_account``): no other app calls the
ledger's SQL any more (requests_app 0007 dropped ``requests_open_loan``, hence the dependency).

The function is loaded from the ``.sql`` file, and a test compares the live function with that file.
A later change to the function edits the file and adds a migration that loads it again (this one's
text is the file's, so a fresh database always runs the current source). Reversing restores 0002's
three functions from the text frozen there.
"""

import importlib
from pathlib import Path

from django.db import migrations

SQL_FILE = Path(__file__).resolve().parent.parent / "sql" / "post_journal.sql"

_previous = importlib.import_module("inventory.migrations.0002_post_journal_function")

DROP_HELPERS = """
DROP FUNCTION IF EXISTS inventory_write_journal(
    text, bigint, text, text, bigint, numeric, bigint, bigint[], bigint[], text[], numeric[]
);
DROP FUNCTION IF EXISTS inventory_source_account(bigint, numeric);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_post_journal_function"),
        ("requests_app", "0007_drop_open_loan_function"),
    ]

    operations = [
        migrations.RunSQL(SQL_FILE.read_text(), _previous.CREATE),
        migrations.RunSQL(DROP_HELPERS, _previous.CREATE_SOURCE),
    ]
