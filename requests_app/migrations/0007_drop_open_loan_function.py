"""``requests_open_loan`` goes: every app writes only its own tables.

The final approval (and the accepted offer) now calls, inside its one transaction, inventory's services
to open the loan and hold its inventory and treasury's to queue the delivery (requests_app.services.
approvals). Reversing re-creates the function from the text frozen in 0005 (inventory 0003, which
depends on this migration, is reversed first and restores the ledger functions it calls).
"""

import importlib

from django.db import migrations

_frozen = importlib.import_module("requests_app.migrations.0005_delivery_to_settlement_account")

DROP = """
DROP FUNCTION IF EXISTS requests_open_loan(
    bigint, bigint, numeric, numeric, bigint, timestamptz, timestamptz, numeric, varchar[], integer, text,
    bigint
);
"""


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0006_approval_rule_steps_are_approver_roles")]

    operations = [migrations.RunSQL(DROP, _frozen.CREATE)]
