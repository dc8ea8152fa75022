import pytest
from django.urls import reverse


@pytest.mark.parametrize("name", ["access:audit", "access:access_log"])
def test_auditors_and_admins_only(login, personas, name):
    assert login(personas["audrey"]).get(reverse(name)).status_code == 200
    assert login(personas["adam"]).get(reverse(name)).status_code == 200
    for other in ("alice", "bob", "rita", "mona"):
        assert login(personas[other]).get(reverse(name)).status_code == 403


def test_audit_page_filters_changes_by_object_and_user(login, api, audrey, bob, acme, globex):
    api.as_user(bob).patch(
        f"/api/v1/counterparties/{acme.code}/", {"legal_name": "Acme Holdings"}, format="json"
    )
    client = login(audrey)
    page = client.get(
        reverse("access:audit"), {"model": "refdata.Counterparty", "user": "bob"}
    ).content.decode()
    assert "Acme Holdings" in page and f"#{acme.pk}" in page and f"#{globex.pk}" not in page
    page = client.get(reverse("access:audit"), {"user": "nobody"}).content.decode()
    assert "No changes match" in page


def test_home_page_shows_a_panel_per_role_held(login, personas):
    from borrowdesk.access.services import create_desk_user

    both = create_desk_user(username="nina", password="long-password-123", roles=["risk", "compliance"])
    page = login(both).get(reverse("home")).content.decode()
    assert 'data-role="risk"' in page and 'data-role="compliance"' in page and 'data-role="ops"' not in page
