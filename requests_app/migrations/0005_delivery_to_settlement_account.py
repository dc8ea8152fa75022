"""The delivery instruction of a final approval goes to the request's settlement account.

``requests_open_loan`` (0003) left the delivery's ``to_account`` empty; it now takes the settlement
account the trader named at intake (still empty when none was named: treasury picks it at settlement).
The function is replaced whole; its text is 0003's with the two changes below, so the two versions
cannot drift apart anywhere else. Reversing restores 0003's text.
"""

import importlib

from django.db import migrations

PREVIOUS = importlib.import_module("requests_app.migrations.0003_open_loan_function").CREATE

CHANGES = [
    (
        "SELECT counterparty_id, asset_id, term_days INTO STRICT req",
        "SELECT counterparty_id, asset_id, term_days, settlement_account_id INTO STRICT req",
    ),
    (
        "(kind, loan_id, asset_id, from_account_id, quantity, status, due_at, failure_reason, attempts,\n"
        "         created_at)\n"
        "    VALUES ('loan_delivery', o_loan_id, req.asset_id, o_account_id, p_quantity,",
        "(kind, loan_id, asset_id, from_account_id, to_account_id, quantity, status, due_at, failure_reason,\n"
        "         attempts, created_at)\n"
        "    VALUES ('loan_delivery', o_loan_id, req.asset_id, o_account_id, req.settlement_account_id,\n"
        "            p_quantity,",
    ),
]


def _apply(sql: str) -> str:
    for old, new in CHANGES:
        assert sql.count(old) == 1, f"0003's function text changed: {old!r}"
        sql = sql.replace(old, new)
    return sql


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0004_approval_order_by_request_id")]

    operations = [migrations.RunSQL(_apply(PREVIOUS), PREVIOUS)]
