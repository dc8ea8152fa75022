"""Concentration and expiries against hand-computed figures, and their fixed query counts.

Limits (settings): a counterparty's collateral above 60 % in one asset, the firm's book above 40 % in one
asset; expiry warning 14 days. Marks: BTC 50,000, ETH 3,000, SOL 100.

    ACME    pledged 1 BTC (50,000) and 10 ETH (30,000): total 80,000 → BTC 62.5 %, ETH 37.5 %
    GLOBEX  pledged 100 ETH (300,000) and 1,000 SOL (100,000): total 400,000 → ETH 75 %, SOL 25 %
    firm    480,000: BTC 50,000 = 10.4167 %, ETH 330,000 = 68.75 %, SOL 100,000 = 20.8333 %
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from borrowdesk.business_day import business_date
from collateral.selectors import monitoring
from collateral.selectors.monitoring import alerts, concentration_rows, expiry_rows, firm_concentration_rows
from tests.collateral import stress_helpers as s
from tests.collateral import valuation_helpers as h

D = Decimal


@pytest.fixture
def book(desk_config, acme, globex):
    btc, eth, sol = h.asset("BTC"), h.asset("ETH"), h.asset("SOL")
    for a, p in ((btc, 50000), (eth, 3000), (sol, 100)):
        h.price(a, p)
    today = business_date()
    pledges = {
        "acme_btc": s.pledge_expiring(acme, btc, 1, expires_on=today + timedelta(days=3)),
        "acme_eth": s.pledge_expiring(acme, eth, 10, expires_on=today + timedelta(days=30)),  # beyond 14
        "globex_eth": s.pledge_expiring(globex, eth, 100, expires_on=None),
        "globex_sol": s.pledge_expiring(globex, sol, 1000, expires_on=today - timedelta(days=1)),  # expired
    }
    return {"btc": btc, "eth": eth, "sol": sol, "pledges": pledges, "today": today}


def test_each_assets_share_of_a_counterpartys_collateral(book):
    rows = {(r.counterparty_code, r.asset_symbol): r for r in concentration_rows()}
    acme_btc = rows["ACME", "BTC"]
    assert (acme_btc.value_usd, acme_btc.counterparty_total_usd) == (D("50000"), D("80000"))
    assert acme_btc.counterparty_share_pct == D("62.5")  # 50,000 / 80,000
    assert acme_btc.over_counterparty_limit  # above 60 %
    assert rows["ACME", "ETH"].counterparty_share_pct == D("37.5")
    assert not rows["ACME", "ETH"].over_counterparty_limit
    assert rows["GLOBEX", "ETH"].counterparty_share_pct == D("75")  # 300,000 / 400,000
    assert rows["GLOBEX", "SOL"].counterparty_share_pct == D("25")
    # The most concentrated first.
    assert [(r.counterparty_code, r.asset_symbol) for r in concentration_rows()][:2] == [
        ("GLOBEX", "ETH"),
        ("ACME", "BTC"),
    ]
    flagged = concentration_rows(flagged_only=True)
    assert [(r.counterparty_code, r.asset_symbol) for r in flagged] == [("GLOBEX", "ETH"), ("ACME", "BTC")]


def test_each_assets_share_of_the_firms_book(book):
    rows = {r.asset_symbol: r for r in firm_concentration_rows()}
    assert rows["ETH"].value_usd == D("330000")  # 10 + 100 ETH x 3,000
    assert rows["ETH"].firm_total_usd == D("480000")
    assert rows["ETH"].share_pct == D("68.75")  # 330,000 / 480,000
    assert rows["ETH"].over_limit  # above 40 %
    assert (rows["ETH"].quantity, rows["ETH"].holders) == (D("110"), 2)
    assert rows["BTC"].share_pct == D("10.4167")  # 50,000 / 480,000, 4 places
    assert rows["SOL"].share_pct == D("20.8333")
    assert [r.asset_symbol for r in firm_concentration_rows(flagged_only=True)] == ["ETH"]


def test_a_missing_mark_makes_shares_unknown_never_zero(book, acme):
    doge = h.asset("DOGE")  # no price at all
    s.pledge_expiring(acme, doge, 5000, expires_on=None)
    rows = {(r.counterparty_code, r.asset_symbol): r for r in concentration_rows()}
    assert rows["ACME", "DOGE"].value_usd is None
    assert rows["ACME", "BTC"].counterparty_share_pct is None  # ACME's total is unknown
    assert rows["GLOBEX", "ETH"].counterparty_share_pct == D("75")  # others unaffected
    firm = {r.asset_symbol: r for r in firm_concentration_rows()}
    assert (firm["DOGE"].value_usd, firm["DOGE"].share_pct) == (None, None)
    assert firm["ETH"].share_pct == D("68.75")  # over the collateral that has a mark
    # Unknown shares come first: they need a mark before anyone can judge them.
    assert (concentration_rows()[0].counterparty_code, concentration_rows()[0].asset_symbol) in {
        ("ACME", "BTC"),
        ("ACME", "DOGE"),
        ("ACME", "ETH"),
    }


def test_collateral_expiring_within_the_window_while_still_pledged(book):
    rows = expiry_rows()
    # ACME's BTC in 3 days, GLOBEX's SOL expired yesterday and still pledged; ACME's ETH (30 days) and
    # GLOBEX's ETH (no expiry) are not listed. The expired one first (soonest date first).
    assert [(r.counterparty_code, r.asset_symbol, r.days_left, r.status) for r in rows] == [
        ("GLOBEX", "SOL", -1, "expired"),
        ("ACME", "BTC", 3, "expiring"),
    ]
    assert rows[1].held_quantity == D("1")
    assert rows[1].value_usd == D("50000")  # 1 x 50,000
    assert [r.asset_symbol for r in expiry_rows(days=30)] == ["SOL", "BTC", "ETH"]


def test_released_collateral_no_longer_expires(book, acme):
    from inventory.models import Bucket, JournalKind
    from inventory.services import LedgerLine, post_journal

    account = book["pledges"]["acme_btc"].account
    q = D("0.4")
    post_journal(
        kind=JournalKind.COLLATERAL_RELEASE,
        lines=[
            LedgerLine(book["btc"], account, Bucket.PLEDGED, -q),
            LedgerLine(book["btc"], account, Bucket.EXTERNAL, q),
        ],
    )
    (acme_btc,) = [r for r in expiry_rows() if r.counterparty_code == "ACME"]
    assert acme_btc.held_quantity == D("0.6")  # at most what the account still holds pledged
    post_journal(
        kind=JournalKind.COLLATERAL_RELEASE,
        lines=[
            LedgerLine(book["btc"], account, Bucket.PLEDGED, -D("0.6")),
            LedgerLine(book["btc"], account, Bucket.EXTERNAL, D("0.6")),
        ],
    )
    assert [r.counterparty_code for r in expiry_rows()] == ["GLOBEX"]


def test_alerts_count_and_show_the_top_rows(book):
    found = alerts(top=1)
    assert (found.concentration_count, found.firm_concentration_count) == (2, 1)
    assert [(r.counterparty_code, r.asset_symbol) for r in found.concentration_top] == [("GLOBEX", "ETH")]
    assert [r.asset_symbol for r in found.firm_concentration_top] == ["ETH"]
    assert (found.expiry_count, found.expired_count) == (2, 1)
    assert [r.asset_symbol for r in found.expiry_top] == ["SOL"]
    assert found.total == 5
    assert (found.counterparty_limit_pct, found.firm_limit_pct, found.expiry_warning_days) == (
        D("60"),
        D("40"),
        14,
    )


def test_alerts_with_nothing_pledged(desk_config):
    found = alerts()
    assert found.total == 0
    assert (found.concentration_top, found.firm_concentration_top, found.expiry_top) == ([], [], [])


def test_alerts_take_three_queries_whatever_the_book(book, django_assert_num_queries):
    from tests.refdata.factories import CounterpartyFactory

    for i in range(5):
        cp = CounterpartyFactory(code=f"MORE{i}")
        s.pledge_expiring(cp, book["sol"], 10 + i, expires_on=book["today"])
    # 1. the flagged (counterparty, asset) concentrations with their count
    # 2. the flagged assets of the firm's book with their count
    # 3. the expiring pledges with their counts
    with django_assert_num_queries(3):
        found = alerts()
    assert found.expiry_count == 7


def test_the_queries_run_are_the_files_with_refdatas_mark_rule():
    for name, sql in (
        ("concentration.sql", monitoring.CONCENTRATION_SQL),
        ("expiries.sql", monitoring.EXPIRIES_SQL),
    ):
        text = (monitoring.SQL_DIR / name).read_text()
        assert "{mark_of_asset}" in text and "{mark_of_asset}" not in sql
        assert "p.status = 'applied'" in sql  # refdata's rule: pending overrides never count
