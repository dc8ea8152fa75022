from borrowdesk.errors import InvalidInput


class UnknownRole(InvalidInput):
    code = "invalid"
