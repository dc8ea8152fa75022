"""Who may do what: one table of actions → roles, named after what a person does.

Every check reads this table and nothing else: services (``require(actor, action)``), the API
permission class, the page decorator and the navigation. So what a role may do, see and find always
agree, and a role-name tuple anywhere else in the code is a bug. Every page and endpoint declares the
action it serves; a test generated from the URL patterns checks each one × every role × anonymous
against this table, and an endpoint that declares no action fails the suite.

Two pseudo-actions need no role: ``PUBLIC`` (no login: health, the login form, the token endpoint,
the schema) and ``SIGNED_IN`` (any authenticated user: the home page, logout).

Scope (which counterparties a trader acts for) is not here: it narrows what an allowed action
touches, in the selectors, and an object outside it is a 404. Segregation of duties (maker ≠ checker,
no approver setting the inputs of its own approval path) is listed in ``SEGREGATION`` below and
enforced in the services that own each rule.
"""

from __future__ import annotations

from borrowdesk.access.roles import ROLES, user_roles
from borrowdesk.errors import PermissionDeniedError

PUBLIC = "public"
SIGNED_IN = "signed_in"

# Groups of roles, to keep the table readable. Only this module names roles.
_EVERYONE = frozenset(ROLES) - {"pricing"}  # every person at the desk (pricing is a feed, not a person)
_DESK = _EVERYONE - {"trader"}  # every desk role: the firm's own staff
_OPS = frozenset({"ops", "ops_senior"})
_APPROVERS = _OPS | {"risk"}
_OVERSIGHT = frozenset({"manager", "auditor", "admin"})  # read the whole desk's work

ACTIONS: dict[str, frozenset[str]] = {
    # Reference data. Assets, networks, venues and prices: anyone, the feed included.
    "refdata.view": _EVERYONE | {"pricing"},
    # Counterparties and their custody accounts: any person; a trader sees only the counterparties
    # they act for and those counterparties' accounts (never the firm's wallets), the desk sees all.
    "refdata.counterparties.view": _EVERYONE,
    "refdata.counterparties.view_all": _DESK,
    "refdata.write": _OPS | {"admin"},  # assets, networks, venues, counterparties, custody accounts
    # Prices decide approval paths, so no approving role posts one. The feed posts; an administrator
    # may override, and a move beyond the tolerance waits for another administrator's confirmation.
    "refdata.price.write": frozenset({"pricing", "admin"}),  # POST /prices/: a feed's price or an override
    "refdata.price.post": frozenset({"pricing"}),
    "refdata.price.override": frozenset({"admin"}),
    "refdata.price.confirm": frozenset({"admin"}),
    # Borrow requests.
    "requests.submit": frozenset({"trader"}),  # also: cancel own, answer an offer (scoped)
    "counterparties.act_for": frozenset({"trader"}),  # who may be granted a counterparty to act for
    "requests.view": _EVERYONE,  # a trader: their counterparties' requests only
    "requests.approve": _APPROVERS,  # the approval queue, approve and reject (the step's role decides)
    # Inventory ledger and the borrow book.
    "inventory.view": _DESK,  # positions, availability, journals
    "inventory.availability.view": _EVERYONE,  # per asset totals: traders see them before they ask
    "inventory.receive": _OPS | {"treasury", "admin"},
    "inventory.adjust": frozenset({"ops_senior"}),
    "loans.view": (_EVERYONE - {"compliance"}),  # the borrow book; a trader: their counterparties'
    "loans.operate": _OPS | {"admin"},  # return, recall, propose a rerate
    "loans.answer_rerate": frozenset({"trader"}),
    # Settlement.
    "settlements.view": _OPS | {"treasury"} | _OVERSIGHT,
    "settlements.settle": _OPS | {"treasury"},
    # Compliance.
    "compliance.kyc.view": frozenset({"compliance"}) | _APPROVERS | _OVERSIGHT,
    "compliance.kyc.write": frozenset({"compliance"}),  # KYC status, expiry and the risk rating
    # Sanctions: compliance imports the lists, screens and decides the matches; oversight reads them.
    "compliance.sanctions.view": frozenset({"compliance"}) | _OVERSIGHT,  # lists, screenings, matches
    "compliance.sanctions.import": frozenset({"compliance"}),
    "compliance.screening.run": frozenset({"compliance"}),  # screen a name or an address by hand
    "compliance.match.clear": frozenset({"compliance"}),  # propose / confirm / withdraw a false positive
    "compliance.match.confirm": frozenset({"compliance"}),  # a true match: the counterparty stays blocked
    # KYC documents (issue 10, kyc): compliance uploads them; compliance and auditors read them (every
    # download is written to the access log). The desk's approvers see KYC statuses, not the documents.
    "compliance.kyc.document.view": frozenset({"compliance", "auditor"}),
    "compliance.kyc.document.upload": frozenset({"compliance"}),
    # AML monitoring (issue 10, aml part): compliance works the alerts and configures the rules;
    # oversight (the auditor among them) reads the alerts and the rules.
    "compliance.aml.view": frozenset({"compliance"}) | _OVERSIGHT,  # alerts, their evidence, the rules
    "compliance.aml.work": frozenset({"compliance"}),  # dismiss an alert with a reason
    "compliance.aml.configure": frozenset({"compliance"}),  # a rule's parameters and whether it runs
    # Travel rule and regulator requests (issue 10, part "travelrule"): compliance works them; the
    # settlement desk sees a leg's message (it is what blocks the leg); oversight reads.
    "compliance.travel_rule.view": frozenset({"compliance", "treasury"}) | _OPS | _OVERSIGHT,
    "compliance.travel_rule.work": frozenset({"compliance"}),  # rebuild, send, acknowledge, reject
    "compliance.regulator.view": frozenset({"compliance"}) | _OVERSIGHT,
    "compliance.regulator.work": frozenset({"compliance"}),  # log, assign, attach evidence, respond, close
    # Cases (issue 10, part "cases"): compliance works and closes them; oversight reads every case
    # (view_all: past a case's team restriction). A four-eyes closure is approved by a second officer.
    "compliance.case.view": frozenset({"compliance"}) | _OVERSIGHT,
    "compliance.case.view_all": _OVERSIGHT,
    "compliance.case.work": frozenset({"compliance"}),  # open, assign, note, attach, escalate
    "compliance.case.close": frozenset({"compliance"}),  # close, or propose a four-eyes closure
    "compliance.case.approve_closure": frozenset({"compliance"}),
    # Collateral, coverage, margin calls, limits and stress (the risk desk). A trader sees only the
    # counterparties they act for (coverage, collateral, margin calls), the desk sees all.
    "collateral.view": _EVERYONE - {"compliance"},
    "collateral.pledge": _OPS,  # book pledges and releases (a release is refused below required coverage)
    # Risk configuration (haircut rules, limits, agreements): risk proposes, another risk user approves a
    # loosening (segregation: never the proposer).
    "collateral.config.view": _DESK,
    "collateral.config.propose": frozenset({"risk"}),
    "collateral.config.approve": frozenset({"risk"}),
    "collateral.margin_call.operate": frozenset({"risk"}),  # note, cancel, escalate a margin call
    "collateral.stress.view": frozenset({"risk", "manager", "auditor", "admin"}),
    "collateral.stress.run": frozenset({"risk", "manager"}),  # a run moves nothing
    "collateral.stress.edit": frozenset({"risk"}),  # save a new version of a scenario
    "collateral.recall.view": _OPS | {"risk", "manager"},  # recall suggestions (recalls: loans.operate)
    # Reconciliation (issue 11, statements): operations and treasury import custodian statements;
    # managers and auditors read them.
    "reconciliation.statement.view": _OPS | {"treasury"} | _OVERSIGHT,
    "reconciliation.statement.import": _OPS | {"treasury"},
    # Reconciliation runs, breaks and the pre-open gate (issue 11, part reconruns). Ops and treasury run
    # reconciliations and work breaks; managers and auditors read; the ledger fix of a booking error and
    # the gate's override are ops_senior's.
    "reconciliation.view": _OPS
    | {"treasury"}
    | _OVERSIGHT,  # runs, breaks, statistics, reconciled statements
    "reconciliation.run": _OPS | {"treasury"},
    "reconciliation.break.work": _OPS | {"treasury"},  # assign, comment, resolve with a reason
    "reconciliation.break.adjust": frozenset({"ops_senior"}),  # a booking error's ledger adjustment
    "reconciliation.gate.override": frozenset({"ops_senior"}),  # release the pre-open gate for an account
    # Operations and oversight.
    "operations.jobs.view": _OPS | _OVERSIGHT,
    # The desk summary (GET /api/v1/dashboard/summary/): utilization, open requests, coverage, the
    # settlement queue, open breaks, the case backlog and the buffers, as desk-wide counts and totals (no
    # row of any request, case or break). For those who run the desk (ops, ops_senior), watch its risk
    # (risk) and oversee it (manager, auditor, admin), as API.md lists; not for a trader.
    "dashboard.summary.view": _APPROVERS | _OVERSIGHT,
    "audit.view": frozenset({"auditor", "admin"}),  # the audit trail
    "access_log.view": frozenset({"auditor", "admin"}),
    "admin.site": frozenset({"admin"}),  # the Django admin (users, configuration)
    "access.users.manage": frozenset({"admin"}),  # create users, grant roles and counterparties
    "desk.internals.view": _DESK,  # the desk's own figures: priority scores, the firm's source accounts
}

# Segregation of duties, each enforced by the service named (listed here so there is one place to read).
SEGREGATION: dict[str, str] = {
    "requests.approve": "No one approves or rejects their own request, and no one decides twice on one "
    "request (requests_app.services).",
    "requests.path": "Approvers do not set the inputs of their own approval path: prices come from the "
    "pricing role, the counterparty's risk rating from compliance's KYC; the path is worked out again "
    "at every step and the stricter one applies (requests_app.services).",
    "refdata.price.confirm": "A price override beyond the tolerance is confirmed by another user "
    "(borrowdesk.refdata.services).",
    "compliance.match.clear": "A potential sanctions match is cleared as a false positive by two "
    "compliance officers: one proposes, another confirms (compliance.sanctions.services; a CHECK "
    "constraint too).",
    "compliance.case.close": "Closing a sanctions case as a false positive, or any escalated case, is "
    "proposed by one compliance officer and approved by another who neither escalated nor worked it "
    "(compliance.cases.services; a CHECK constraint too).",
    "collateral.config.approve": "A loosening of risk configuration (lower haircut, newly eligible asset, "
    "higher limit, lower coverage levels) is approved by a risk user other than its proposer "
    "(collateral.services; a CHECK constraint too).",
}


class UnknownAction(KeyError):
    """An action name that is not in the table: a typo in code, never a user's error."""


def roles_for(action: str) -> frozenset[str]:
    """The roles that may perform ``action`` (empty for PUBLIC and SIGNED_IN, which need none)."""
    if action in (PUBLIC, SIGNED_IN):
        return frozenset()
    try:
        return ACTIONS[action]
    except KeyError:
        raise UnknownAction(action) from None


def allows(user, action: str) -> bool:
    """May ``user`` (possibly anonymous or inactive) perform ``action``?"""
    if action == PUBLIC:
        return True
    if not (getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)):
        return False
    if action == SIGNED_IN:
        return True
    return bool(user_roles(user) & roles_for(action))


def require(actor, action: str, message: str | None = None) -> None:
    """Refuse an actor whose roles do not allow ``action``: raises ``PermissionDeniedError``."""
    if not allows(actor, action):
        raise PermissionDeniedError(message or "Your role does not allow this.")
