from borrowdesk.errors import ConflictError, InvalidInput


class NotCleared(ConflictError):
    """The counterparty is not cleared by compliance (no approved, unexpired KYC, or an unresolved
    sanctions match): nothing may be approved or allocated for it until it is."""

    code = "compliance_hold"


class SanctionsFileError(InvalidInput):
    """A sanctions list file that cannot be read as its format says: a cut line, a wrong number of
    columns, bytes that are not text, a missing file. Names the file and the line; nothing is written
    and the list in force stays in force."""

    code = "invalid_file"

    def __init__(self, file: str, line: int | None, problem: str):
        where = f"{file}, line {line}" if line else file
        super().__init__(f"{where}: {problem}", fields={"file": [f"{where}: {problem}"]})
        self.file, self.line, self.problem = file, line, problem


class DocumentRefused(InvalidInput):
    """A KYC document upload that is not stored: too large, empty, not a PDF/PNG/JPEG by its content,
    or sent under a name with a path in it. Nothing is written (neither the file nor its row)."""

    code = "invalid_file"

    def __init__(self, detail: str, *, code: str):
        super().__init__(detail, fields={"file": [detail]}, code=code)


class TravelRuleRequired(ConflictError):
    """A settlement leg or transfer at or above its travel-rule threshold has no valid IVMS101 message
    (none built, built with errors, or rejected by the other VASP): it may not settle or broadcast
    until compliance has one."""

    code = "travel_rule_required"
