"""Helpers of the refdata tests: JSON calls and the proof that a refused write changed nothing."""

from __future__ import annotations

import json

from pghistory.models import Events

from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount, Network, Price, Venue

MODELS = (Asset, Network, Venue, Counterparty, CustodyAccount, Price)


def refdata_state() -> dict[str, object]:
    """Every reference-data row and the number of their audit events.

    Compared before and after a refused write, it shows that nothing at all changed.
    """
    state: dict[str, object] = {m.__name__: list(m.objects.order_by("pk").values()) for m in MODELS}
    state["events"] = Events.objects.filter(pgh_obj_model__startswith="refdata.").count()
    return state


def send(client, method: str, url: str, body: object):
    """Send ``body`` as JSON; a str is sent as it is (for malformed or non-standard JSON)."""
    data = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json")


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    """The response is API.md's error body with this status and code (naming ``field`` if given)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    if field is not None:
        assert field in body["fields"], body
    return body
