"""How a travel-rule message leaves the desk: a pluggable transport.

A transport takes a valid message and hands it to the counterparty's VASP (TRISA, TRP/OpenVASP, a
vendor's API, or a person sending the exported JSON). ``settings.TRAVEL_RULE_TRANSPORT`` names the one
in use. The default, ``ManualExportTransport``, is the desk's today: compliance downloads the JSON,
sends it through the agreed channel and marks it sent; the acknowledgement is recorded by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from compliance.travel_rule.models import TravelRuleMessage


@dataclass(frozen=True)
class Delivery:
    """What a transport reports: its name and the reference the other side gave (or ours)."""

    transport: str
    reference: str = ""


class TravelRuleTransport(Protocol):
    name: str

    def send(self, message: TravelRuleMessage) -> Delivery:
        """Hand the message over. Raise a ``DomainError`` when it cannot be sent (nothing is marked)."""
        ...


class ManualExportTransport:
    """Compliance sends the exported JSON itself (e-mail, portal): marking it sent records that."""

    name = "manual_export"

    def send(self, message: TravelRuleMessage) -> Delivery:
        return Delivery(transport=self.name, reference=f"export-{message.pk}")


def transport() -> TravelRuleTransport:
    return import_string(settings.TRAVEL_RULE_TRANSPORT)()
