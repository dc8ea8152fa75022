"""Risk configuration pages: the desk reads them, risk proposes from them (errors beside the fields,
nothing written), and the pending queue offers Approve and Reject to risk users other than the
proposer."""

from decimal import Decimal

import pytest
from django.urls import reverse

from collateral.models import BorrowerLimit, CollateralAgreement, HaircutRule, StressScenario
from collateral.services.config import propose_haircut_rule, save_stress_scenario
from tests.collateral.factories import config_state, desk_user, haircut, limit
from tests.inventory.factories import desk_asset

CONFIG_PAGES = ["collateral:haircuts", "collateral:limits", "collateral:agreements", "collateral:pending"]


def _text(response) -> str:
    return response.content.decode()


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")


@pytest.fixture
def rhea(desk_config):
    return desk_user("rhea", "risk")


# --- who sees what --------------------------------------------------------------------------------


@pytest.mark.parametrize("page", CONFIG_PAGES)
@pytest.mark.parametrize(
    ("who", "status"), [("rita", 200), ("bob", 200), ("audrey", 200), ("alice", 403), ("pete", 403)]
)
def test_the_desk_reads_the_configuration_and_traders_do_not(login, personas, btc, page, who, status):
    assert login(personas[who]).get(reverse(page)).status_code == status


def test_only_risk_gets_the_propose_form(login, rita, bob, btc):
    assert 'data-testid="propose-form"' in _text(login(rita).get(reverse("collateral:haircuts")))
    assert 'data-testid="propose-form"' not in _text(login(bob).get(reverse("collateral:haircuts")))


@pytest.mark.parametrize("page", ["collateral:haircuts", "collateral:limits", "collateral:agreements"])
def test_a_proposal_by_anyone_but_risk_is_403_and_writes_nothing(login, bob, btc, acme, page):
    before = config_state()
    response = login(bob).post(reverse(page), {"asset": "BTC", "counterparty": "ACME", "haircut_pct": "10"})
    assert response.status_code == 403
    assert config_state() == before


# --- haircut rules --------------------------------------------------------------------------------


def test_the_haircut_page_shows_rules_in_force_and_every_version(login, rita, btc, acme):
    old = haircut(btc, "10")
    new = haircut(btc, "20")
    scoped = haircut(btc, "30", counterparty=acme)
    text = _text(login(rita).get(reverse("collateral:haircuts")))
    in_force = text[text.index('data-testid="in-force"') : text.index("Every version")]
    assert f'data-id="{new.pk}"' in in_force and f'data-id="{scoped.pk}"' in in_force
    assert f'data-id="{old.pk}"' not in in_force  # superseded, but listed among the versions
    versions = text[text.index("Every version") :]
    assert all(f'data-id="{r.pk}"' in versions for r in (old, new, scoped))
    assert '<span class="badge state-effective">Effective</span>' in versions


def test_risk_proposes_a_haircut_from_the_page(login, rita, btc):
    response = login(rita).post(
        reverse("collateral:haircuts"), {"asset": "BTC", "haircut_pct": "12.5"}, follow=True
    )
    assert response.status_code == 200
    rule = HaircutRule.objects.get()
    assert (rule.haircut_pct, rule.status, rule.proposed_by) == (Decimal("12.5"), "pending_approval", rita)
    assert "a loosening, pending another risk user" in _text(response)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("101", "Must be from 0 to 100 %."),
        ("-1", "Must be from 0 to 100 %."),
        ("10.12345", "At most 4 decimal places."),
        ("ten", "Enter a number."),
    ],
)
def test_a_bad_haircut_is_shown_beside_its_field_and_nothing_is_written(login, rita, btc, value, message):
    before = config_state()
    response = login(rita).post(
        reverse("collateral:haircuts"), {"asset": "BTC", "haircut_pct": value, "comment": "kept"}
    )
    assert response.status_code == 200  # the page again, with what was typed
    text = _text(response)
    assert f'<div class="invalid-feedback d-block" data-field="haircut_pct">{message}</div>' in text
    assert 'value="kept"' in text
    assert config_state() == before


def test_an_unknown_asset_is_shown_beside_its_field(login, rita, btc):
    text = _text(login(rita).post(reverse("collateral:haircuts"), {"asset": "DOGE", "haircut_pct": "10"}))
    assert 'data-field="asset"' in text
    assert not HaircutRule.objects.exists()


def test_the_versions_filter_and_export(login, rita, btc, acme):
    haircut(btc, "10")
    scoped = haircut(btc, "30", counterparty=acme)
    client = login(rita)
    text = _text(client.get(reverse("collateral:haircuts"), {"counterparty": "ACME"}))
    assert text.count('data-id="') == 2 + 1  # in force: both rules; versions: ACME's only
    csv = client.get(reverse("collateral:haircuts"), {"format": "csv"})
    assert csv["Content-Type"] == "text/csv"
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("#,Asset,Venue,Counterparty,Haircut (%),Status,From")
    assert lines[1].startswith(f"{scoped.pk},BTC,,ACME,30,effective,")


# --- limits and agreements ------------------------------------------------------------------------


def test_risk_proposes_a_limit_with_asset_caps(login, rita, btc, acme):
    desk_asset("ETH", 18, "3000")
    body = {
        "counterparty": "ACME",
        "max_exposure_usd": "1000000",
        "max_tenor_days": "30",
        "asset_caps": "BTC 10, eth 250.5",
    }
    response = login(rita).post(reverse("collateral:limits"), body, follow=True)
    assert "a tightening, in force now" in _text(response)
    limit_ = BorrowerLimit.objects.get()
    assert {c.asset.symbol: c.max_quantity for c in limit_.asset_caps.all()} == {
        "BTC": Decimal(10),
        "ETH": Decimal("250.5"),
    }
    assert "BTC 10, ETH 250.5" in _text(login(rita).get(reverse("collateral:limits")))


@pytest.mark.parametrize(
    ("caps", "message"),
    [
        ("BTC ten", "BTC: &#x27;ten&#x27; is not a number."),
        ("DOGE 5", "Unknown asset DOGE."),
        ("BTC 1, BTC 2", "BTC is named twice."),
        ("BTC", "&#x27;BTC&#x27;: write a symbol and a quantity, e.g. BTC 10."),
        ("BTC -1", "BTC: Must be greater than zero."),  # the service's rule, beside the field
    ],
)
def test_bad_asset_caps_are_shown_beside_the_field(login, rita, btc, acme, caps, message):
    body = {"counterparty": "ACME", "max_exposure_usd": "1000", "asset_caps": caps}
    text = _text(login(rita).post(reverse("collateral:limits"), body))
    assert f'data-field="asset_caps">{message}</div>' in text
    assert not BorrowerLimit.objects.exists()


def test_a_negative_limit_is_shown_beside_its_field(login, rita, acme):
    text = _text(
        login(rita).post(reverse("collateral:limits"), {"counterparty": "ACME", "max_exposure_usd": "-5"})
    )
    assert 'data-field="max_exposure_usd"' in text
    assert not BorrowerLimit.objects.exists()


def test_the_agreement_form_starts_from_the_defaults_and_shows_them_in_force(login, rita, acme):
    text = _text(login(rita).get(reverse("collateral:agreements")))
    assert 'name="required_ratio" value="1.50"' in text
    assert 'data-testid="defaults"' in text


def test_levels_out_of_order_are_shown_beside_the_field(login, rita, acme):
    body = {
        "counterparty": "ACME",
        "return_ratio": "1.75",
        "required_ratio": "1.5",
        "warning_ratio": "1.6",
        "call_ratio": "1.3",
        "critical_ratio": "1.15",
        "cure_period_hours": "24",
        "call_due_hours": "24",
    }
    text = _text(login(rita).post(reverse("collateral:agreements"), body))
    assert 'data-field="warning_ratio">Must not be above the required ratio.</div>' in text
    assert not CollateralAgreement.objects.exists()


# --- pending approvals ----------------------------------------------------------------------------


@pytest.fixture
def proposed(rita, btc):
    return propose_haircut_rule(actor=rita, asset=btc, haircut_pct=Decimal(10))


def test_the_proposer_sees_their_change_without_the_buttons(login, rita, proposed):
    text = _text(login(rita).get(reverse("collateral:pending")))
    assert f'data-kind="haircut" data-id="{proposed.pk}"' in text
    assert 'data-testid="own"' in text and 'data-testid="approve"' not in text


def test_a_long_comment_is_cut_in_the_queue_and_kept_whole_in_its_title(login, rita, rhea, btc):
    comment = "relationship " * 20 + "x" * 200  # 460 characters, one "word" of 200
    change = propose_haircut_rule(actor=rita, asset=btc, haircut_pct=Decimal(10), comment=comment.strip())
    text = _text(login(rhea).get(reverse("collateral:pending")))
    row = text[text.index(f'data-id="{change.pk}"') :]
    cell = row[row.index('data-testid="comment"') : row.index("</td>", row.index('data-testid="comment"'))]
    assert f'title="{comment.strip()}"' in cell  # the whole comment on hover
    shown = cell[cell.index(">") + 1 :]
    assert len(shown) == 140 and shown.endswith("…")  # what the row shows: 139 characters and an ellipsis
    assert 'class="text"' in row  # wraps within its column (.queue td.text) instead of widening the table


def test_another_risk_user_approves_from_the_queue(login, rhea, proposed):
    client = login(rhea)
    assert 'data-testid="approve"' in _text(client.get(reverse("collateral:pending")))
    response = client.post(reverse("collateral:approve", args=["haircut", proposed.pk]), follow=True)
    assert f"Haircut rule #{proposed.pk} approved" in _text(response)
    proposed.refresh_from_db()
    assert (proposed.status, proposed.approved_by) == ("effective", rhea)
    assert 'data-testid="pending-count"' not in _text(response)


def test_a_rejection_without_a_reason_is_refused_with_a_message(login, rhea, proposed):
    response = login(rhea).post(
        reverse("collateral:reject", args=["haircut", proposed.pk]), {"reason": ""}, follow=True
    )
    assert "A rejection needs a reason" in _text(response)
    proposed.refresh_from_db()
    assert proposed.status == "pending_approval"


def test_another_risk_user_rejects_with_a_reason(login, rhea, proposed):
    login(rhea).post(reverse("collateral:reject", args=["haircut", proposed.pk]), {"reason": "too loose"})
    proposed.refresh_from_db()
    assert (proposed.status, proposed.rejection_reason) == ("rejected", "too loose")


def test_the_proposer_posting_approve_is_refused_with_a_message(login, rita, proposed):
    response = login(rita).post(reverse("collateral:approve", args=["haircut", proposed.pk]), follow=True)
    assert "other than its proposer" in _text(response)
    proposed.refresh_from_db()
    assert proposed.status == "pending_approval"


@pytest.mark.parametrize("who", ["bob", "mona"])
def test_only_risk_decides(login, personas, proposed, who):
    assert (
        login(personas[who]).post(reverse("collateral:approve", args=["haircut", proposed.pk])).status_code
        == 403
    )
    proposed.refresh_from_db()
    assert proposed.status == "pending_approval"


def test_an_unknown_kind_or_id_is_404(login, rhea, proposed):
    assert login(rhea).post(reverse("collateral:approve", args=["widget", proposed.pk])).status_code == 404
    assert login(rhea).post(reverse("collateral:approve", args=["limit", proposed.pk])).status_code == 404


def test_the_queue_lists_every_kind(login, rhea, rita, proposed, acme):
    from collateral.services.config import propose_agreement, propose_limit

    limit(acme, "1000")  # a first limit: in force at once, not in the queue
    higher = propose_limit(actor=rita, counterparty=acme, max_exposure_usd=Decimal(5000))
    looser = propose_agreement(
        actor=rita,
        counterparty=acme,
        return_ratio=Decimal("1.75"),
        required_ratio=Decimal("1.5"),
        warning_ratio=Decimal("1.4"),
        call_ratio=Decimal("1.2"),
        critical_ratio=Decimal("1.1"),
        cure_period_hours=24,
        call_due_hours=24,
    )
    text = _text(login(rhea).get(reverse("collateral:pending")))
    for kind, pk in (("haircut", proposed.pk), ("limit", higher.pk), ("agreement", looser.pk)):
        assert f'data-kind="{kind}" data-id="{pk}"' in text
    assert text.count('data-kind="') == 3
    assert "max exposure $5,000.00; no tenor limit" in text
    assert '<span class="badge text-bg-warning" data-testid="pending-count">3</span>' in text


# --- stress scenario versions ---------------------------------------------------------------------


def test_the_scenario_versions_page(login, rita, mona, bob, btc):
    before = StressScenario.objects.count()
    save_stress_scenario(actor=rita, name="desk crash", markdowns={"BTC": Decimal(30)})
    save_stress_scenario(actor=rita, name="desk crash", markdowns={"BTC": Decimal(35)})
    text = _text(login(mona).get(reverse("collateral:scenarios")))
    assert text.count("desk crash") == 2 and "BTC 35 %" in text and "BTC 30 %" in text
    assert login(bob).get(reverse("collateral:scenarios")).status_code == 403
    assert StressScenario.objects.count() == before + 2


@pytest.mark.parametrize("more", [0, 4])
def test_the_configuration_pages_take_a_fixed_number_of_queries(
    login, rita, btc, acme, globex, django_assert_num_queries, more
):
    eth = desk_asset("ETH", 18, "3000")
    haircut(btc, "10")
    limit(acme, "1000", asset_caps={btc: "1"})
    for i in range(more):
        haircut(eth, str(10 + i), counterparty=acme if i % 2 else globex)
        limit(globex, str(900 - i), asset_caps={btc: "1", eth: "2"})
    client = login(rita)
    # session, user, roles; the rules in force; the pending counts (one per kind: 3); count and page of
    # versions; the propose form's choices (assets, venues, counterparties: 3).
    with django_assert_num_queries(12):
        client.get(reverse("collateral:haircuts"))
    # session, user, roles; the limits in force and their caps (2); the pending counts (3); count, page
    # and the page's caps (3); the propose form's counterparties (1).
    with django_assert_num_queries(12):
        client.get(reverse("collateral:limits"))
