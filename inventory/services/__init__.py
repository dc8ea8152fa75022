"""The write side of inventory: the ledger (ledger.py) and the borrow book (loans.py)."""

from inventory.services.ledger import (  # noqa: F401
    LedgerLine,
    adjust,
    allocate,
    allocate_for_loan,
    allocate_for_loan_statement,
    check_quantity,
    choose_source_account,
    deliver,
    post_journal,
    receive,
    release_allocation,
    return_to_available,
)
from inventory.services.loans import (  # noqa: F401, E402
    accrue_fees,
    accrue_through,
    cancel_loan,
    decide_rerate,
    deliver_loan,
    hold_loan,
    hold_loan_statement,
    open_loan,
    previous_business_date,
    propose_rerate,
    recall_loan,
    return_loan,
    start_loan,
)
