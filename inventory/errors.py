from borrowdesk.errors import ConflictError, InvalidInput


class InsufficientInventory(ConflictError):
    code = "insufficient_inventory"


class UnbalancedJournal(InvalidInput):
    code = "invalid"


class InvalidQuantity(InvalidInput):
    code = "invalid"
