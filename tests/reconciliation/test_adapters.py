"""Each custodian adapter on payloads shaped as the public specs describe (field lists in
shared/data/statements-*/SOURCE.md), ids mapped through refdata's CustodianMapping."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from reconciliation.models import ExternalStatement, StatementLine
from reconciliation.statements.errors import StatementRefused
from reconciliation.statements.services import import_statement
from tests.reconciliation.factories import desk, map_account, map_asset

AS_OF = "2026-03-02T17:00:00+00:00"


@pytest.fixture
def book(db):
    accounts, assets = desk(("BTC", 8), ("ETH", 18), ("USDC", 6))
    return accounts, assets


def _import(actor, fmt, payload, **kw):
    data = json.dumps(payload).encode()
    return import_statement(actor=actor, format=fmt, channel="feed", as_of=AS_OF, data=data, **kw)


def _lines():
    return {
        (ln.statement.account.code, ln.asset.symbol): (
            ln.quantity,
            ln.available,
            ln.pending,
            ln.locked,
            ln.frozen,
        )
        for ln in StatementLine.objects.select_related("statement__account", "asset")
    }


# --- Fireblocks: VaultAccount {id, name, assets[], hiddenOnUI}; VaultAsset {id, total, available, pending,
# frozen, lockedAmount} (decimal strings); Total = available + pending + lockedAmount + frozen.


def _vault(vault_id, *assets):
    return {"id": vault_id, "name": f"vault {vault_id}", "hiddenOnUI": False, "assets": list(assets)}


def _vault_asset(asset_id, total, available, pending="0", frozen="0", locked="0"):
    return {
        "id": asset_id,
        "total": total,
        "balance": total,  # deprecated in the spec, still sent
        "available": available,
        "pending": pending,
        "frozen": frozen,
        "lockedAmount": locked,
        "staked": "0",
        "blockHeight": "840000",
    }


def test_fireblocks_vault_accounts_are_mapped_and_stored_with_their_parts(book, bob):
    accounts, assets = book
    map_account("fireblocks", "0", accounts["INV-A"])
    map_account("fireblocks", "7", accounts["INV-B"])
    map_asset("fireblocks", "BTC_TEST", assets["BTC"])
    map_asset("fireblocks", "USDC_ETH_TEST5_0GER", assets["USDC"])
    paged = {
        "accounts": [
            _vault("0", _vault_asset("BTC_TEST", "1.5", "1.2", pending="0.1", locked="0.15", frozen="0.05")),
            _vault(
                "7", _vault_asset("USDC_ETH_TEST5_0GER", "2500.25", "2500.25"), _vault_asset("ETH", "3", "3")
            ),
        ],
        "paging": {"before": None, "after": None},
        "previousUrl": None,
        "nextUrl": None,
    }
    outcome = _import(bob, "fireblocks", paged)
    assert outcome.source == "fireblocks" and outcome.line_count == 3
    assert _lines() == {
        ("INV-A", "BTC"): (Decimal("1.5"), Decimal("1.2"), Decimal("0.1"), Decimal("0.15"), Decimal("0.05")),
        ("INV-B", "USDC"): (Decimal("2500.25"), Decimal("2500.25"), 0, 0, 0),
        ("INV-B", "ETH"): (Decimal("3"), Decimal("3"), 0, 0, 0),  # no mapping: the desk's symbol
    }
    assert set(ExternalStatement.objects.values_list("source", flat=True)) == {"fireblocks"}


def test_fireblocks_asset_wallets_shape_is_read_too(book, bob):
    accounts, _assets = book
    map_account("fireblocks", "3", accounts["INV-A"])
    wallets = {
        "assetWallets": [
            {
                "vaultId": "3",
                "assetId": "BTC",
                "total": "0.5",
                "available": "0.5",
                "pending": "0",
                "staked": "0",
                "frozen": "0",
                "lockedAmount": "0",
                "creationTimestamp": "1700000000000",
            }
        ],
        "paging": {},
    }
    _import(bob, "fireblocks", wallets)
    assert _lines() == {("INV-A", "BTC"): (Decimal("0.5"), Decimal("0.5"), 0, 0, 0)}


def test_fireblocks_total_not_equal_to_its_parts_is_refused_with_its_line(book, bob):
    accounts, _assets = book
    map_account("fireblocks", "0", accounts["INV-A"])
    paged = {
        "accounts": [
            _vault(
                "0",
                _vault_asset("BTC", "1", "1"),
                _vault_asset("ETH", "10", "6", pending="1", locked="2", frozen="0.5"),  # 9.5 ≠ 10
            )
        ]
    }
    with pytest.raises(StatementRefused) as refused:
        _import(bob, "fireblocks", paged)
    (error,) = refused.value.errors
    assert (error.line, error.field) == (2, "quantity")
    assert "not available + pending + locked + frozen" in error.message
    assert StatementLine.objects.count() == 0 and ExternalStatement.objects.count() == 0


def test_fireblocks_unmapped_vault_and_missing_required_fields_are_refused(book, bob):
    broken = _vault_asset("BTC", "1", "1")
    del broken["lockedAmount"]
    paged = {"accounts": [_vault("99", _vault_asset("BTC", "1", "1")), _vault("98", broken)]}
    with pytest.raises(StatementRefused) as refused:
        _import(bob, "fireblocks", paged)
    assert [(e.line, e.field) for e in refused.value.errors] == [(1, "account"), (2, "lockedAmount")]
    assert "no Fireblocks mapping" in refused.value.errors[0].message
    assert ExternalStatement.objects.count() == 0


# --- Coinbase Prime: GetPortfolioBalancesResponse {balances[], type, trading_balances, vault_balances,
# prime_custody_balances}; Balance {symbol, amount (includes holds), holds, bonded_amount, …,
# withdrawable_amount, fiat_amount, …}: decimal strings in whole units.


def _balance(symbol, amount, holds="0", withdrawable=None):
    return {
        "symbol": symbol,
        "amount": amount,
        "holds": holds,
        "bonded_amount": "0",
        "reserved_amount": "0",
        "unbonding_amount": "0",
        "unvested_amount": "0",
        "pending_rewards_amount": "0",
        "past_rewards_amount": "0",
        "bondable_amount": "0",
        "withdrawable_amount": withdrawable if withdrawable is not None else amount,
        "fiat_amount": "0",
        "unbondable_amount": "0",
    }


def test_coinbase_prime_portfolio_balances_in_whole_units(book, tess):
    accounts, _assets = book
    map_account("coinbase_prime", "3f2e8c1a-portfolio", accounts["INV-B"])
    response = {
        "balances": [
            _balance("BTC", "2.00000000", holds="0.5", withdrawable="1.5"),
            _balance("usdc", "100.5"),
        ],
        "type": "TRADING_BALANCES",
        "trading_balances": {"total": "0", "holds": "0"},
        "vault_balances": {"total": "0", "holds": "0"},
        "prime_custody_balances": {"total": "0", "holds": "0"},
    }
    outcome = _import(tess, "coinbase_prime", response, account="3f2e8c1a-portfolio")
    assert outcome.source == "coinbase_prime"
    assert _lines() == {
        ("INV-B", "BTC"): (Decimal("2"), Decimal("1.5"), None, Decimal("0.5"), None),
        ("INV-B", "USDC"): (Decimal("100.5"), Decimal("100.5"), None, Decimal("0"), None),
    }


def test_coinbase_prime_without_a_portfolio_or_with_bad_amounts_is_refused(book, tess):
    accounts, _assets = book
    with pytest.raises(StatementRefused) as refused:
        _import(tess, "coinbase_prime", {"balances": [_balance("BTC", "1")]})
    assert refused.value.errors[0].field == "portfolio_id"
    map_account("coinbase_prime", "pf-1", accounts["INV-A"])
    response = {
        "portfolio_id": "pf-1",
        "balances": [_balance("BTC", "1.123456789"), _balance("ETH", "1", holds="2"), _balance("DOGE", "5")],
    }
    with pytest.raises(StatementRefused) as refused:
        _import(tess, "coinbase_prime", response)
    assert [(e.line, e.field) for e in refused.value.errors] == [
        (1, "quantity"),  # 9 places for BTC's 8
        (1, "available"),  # withdrawable_amount, the same
        (2, "locked"),  # holds above the amount
        (3, "asset"),  # DOGE: no such asset, no mapping
    ]
    assert ExternalStatement.objects.count() == 0


# --- BitGo: Wallet {id, coin, label, approvalsRequired, deleted, …, balanceString, confirmedBalanceString,
# spendableBalanceString} in BASE units (satoshi, wei).


def _wallet(wallet_id, coin, balance, confirmed=None, spendable=None):
    return {
        "id": wallet_id,
        "coin": coin,
        "label": f"{coin} hot",
        "approvalsRequired": 1,
        "deleted": False,
        "disableTransactionNotifications": False,
        "balance": float(balance),  # the number form may lose precision: never read
        "balanceString": balance,
        "confirmedBalanceString": confirmed if confirmed is not None else balance,
        "spendableBalanceString": spendable if spendable is not None else balance,
    }


def test_bitgo_wallets_in_base_units_are_divided_by_the_assets_decimals(book, bob):
    accounts, assets = book
    map_account("bitgo", "62a1f0c3e4b5a6978812aa01", accounts["INV-A"])
    map_account("bitgo", "62a1f0c3e4b5a6978812aa02", accounts["INV-B"])
    map_asset("bitgo", "tbtc4", assets["BTC"])
    payload = {
        "wallets": [
            _wallet("62a1f0c3e4b5a6978812aa01", "tbtc4", "150000000", spendable="120000000"),  # 1.5 BTC
            _wallet("62a1f0c3e4b5a6978812aa02", "eth", "2500000000000000001"),  # 2.500000000000000001 ETH
        ]
    }
    outcome = _import(bob, "bitgo", payload)
    assert outcome.source == "bitgo"
    assert _lines() == {
        ("INV-A", "BTC"): (Decimal("1.5"), Decimal("1.2"), None, None, None),
        ("INV-B", "ETH"): (
            Decimal("2.500000000000000001"),
            Decimal("2.500000000000000001"),
            None,
            None,
            None,
        ),
    }


def test_bitgo_values_that_are_not_base_units_or_do_not_fit_are_refused(book, bob):
    accounts, _assets = book
    map_account("bitgo", "w1", accounts["INV-A"])
    map_account("bitgo", "w2", accounts["INV-B"])
    payload = [
        _wallet("w1", "btc", "1.5", confirmed="1", spendable="1"),  # a fraction of a satoshi: not base units
        _wallet("w2", "btc", "1" + "0" * 28, spendable="0"),  # 10^20 BTC: does not fit NUMERIC(38,18)
        _wallet("w2", "eth", "100", confirmed="1e3"),
    ]
    with pytest.raises(StatementRefused) as refused:
        _import(bob, "bitgo", payload)
    assert [(e.line, e.field) for e in refused.value.errors] == [
        (1, "quantity"),
        (2, "quantity"),
        (3, "confirmedBalanceString"),
    ]
    assert "whole number of base units" in refused.value.errors[0].message
    assert "Too large" in refused.value.errors[1].message
    assert ExternalStatement.objects.count() == 0


def test_json_file_with_lines_per_api_md(book, bob):
    body = {
        "account": "INV-A",
        "lines": [{"asset": "BTC", "quantity": "0.1"}, {"asset": "ETH", "quantity": 2}],
    }
    _import(bob, "json", body)
    assert _lines() == {
        ("INV-A", "BTC"): (Decimal("0.1"), None, None, None, None),
        ("INV-A", "ETH"): (2, None, None, None, None),
    }


@pytest.mark.parametrize("fmt", ["fireblocks", "coinbase_prime", "bitgo", "json"])
def test_a_file_that_is_not_json_or_not_the_shape_is_refused(book, bob, fmt):
    for data in (b"{not json", b'"a string"', b"\xff\xfe"):
        with pytest.raises(StatementRefused):
            import_statement(actor=bob, format=fmt, channel="feed", as_of=AS_OF, data=data)
    assert ExternalStatement.objects.count() == 0
