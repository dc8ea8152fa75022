"""Sanctions lists and screening: the importers (``ofac``, ``opensanctions``) parse a list's files into
a ``ParsedList`` (``files``) that ``loading`` writes with COPY; ``normalize`` and ``screening`` compare
names and wallet addresses with the active lists; ``services`` holds the business actions (import,
screen, rescreen, the four-eyes clearance of a false positive)."""
