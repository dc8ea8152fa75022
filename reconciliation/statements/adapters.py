"""Statement formats: each adapter reads one shape of file into plain rows, checking only its shape.

A row is ``(line, account, asset, quantity, available, pending, locked, frozen)``, every value the
text as the file gave it (None when absent). Whether the account and the asset exist, whether a
quantity parses, fits its asset's decimals and is not a duplicate, is decided afterwards for all rows
at once in SQL (``reconciliation/sql/statement_import.sql``), so every adapter is held to the same
rules and every error of a file is listed in one go.

- ``csv``: the generic CSV, header exactly ``account,asset,quantity`` (plus any of ``available,
  pending, locked, frozen``), the desk's account codes and asset symbols. A large file goes to the
  database as it is (one ``COPY``); this parser reads it only when the ``COPY`` could not (a broken
  row), to name every broken line.
- ``json``: API.md's body ``{account, as_of?, lines: [{asset, quantity, …}]}``.
- ``fireblocks``: vault accounts (``GET /vault/accounts_paged`` or a list of VaultAccount: ``id`` and
  ``assets[]`` of ``{id, total, available, pending, frozen, lockedAmount}``), or asset wallets
  (``GET /vault/asset_wallets``: ``vaultId, assetId, total, …``). Decimal strings; total must equal
  available + pending + lockedAmount + frozen.
- ``coinbase_prime``: portfolio balances (``GET /v1/portfolios/{portfolio_id}/balances``:
  ``balances[]`` of ``{symbol, amount, holds, withdrawable_amount, …}``, whole units). The response
  does not name its portfolio: the file's ``portfolio_id`` key or the importer's ``external_account``.
- ``bitgo``: wallets (``{wallets: [...]}``, a list, or one wallet: ``id, coin, balanceString,
  confirmedBalanceString, spendableBalanceString``) in BASE units, divided by the asset's decimals.

The custodians' ids (vault, portfolio, wallet; their asset ids) are mapped to the desk's accounts and
assets through refdata's ``CustodianMapping``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from borrowdesk.hygiene import UnsafeJSON, check_json
from borrowdesk.refdata.models import Custodian
from reconciliation.models import StatementSource
from reconciliation.statements.errors import LineError

Row = tuple[int, str | None, str | None, str | None, str | None, str | None, str | None, str | None]

CSV_REQUIRED = ["account", "asset", "quantity"]
CSV_OPTIONAL = ["available", "pending", "locked", "frozen"]
PARTS = CSV_OPTIONAL
MAX_JSON_DEPTH = 16  # the deepest shape read here is {accounts: [{assets: [{…}]}]}


class Format:
    CSV = "csv"
    JSON = "json"
    FIREBLOCKS = Custodian.FIREBLOCKS.value
    COINBASE_PRIME = Custodian.COINBASE_PRIME.value
    BITGO = Custodian.BITGO.value


FORMAT_CHOICES = [
    (Format.CSV, "Generic CSV"),
    (Format.JSON, "JSON (as the API)"),
    (Format.FIREBLOCKS, "Fireblocks vault accounts"),
    (Format.COINBASE_PRIME, "Coinbase Prime portfolio balances"),
    (Format.BITGO, "BitGo wallets"),
]
FORMATS = [value for value, _label in FORMAT_CHOICES]
# The statement's source when a custodian's format is imported, whatever the channel.
CUSTODIAN_SOURCES = {
    Format.FIREBLOCKS: StatementSource.FIREBLOCKS,
    Format.COINBASE_PRIME: StatementSource.COINBASE_PRIME,
    Format.BITGO: StatementSource.BITGO,
}


@dataclass
class Parsed:
    """A file read by an adapter. ``rows`` (None: the generic CSV goes by ``COPY`` as it is, from
    ``copy_offset``); ``accounts``: accounts named without lines (a vault with no assets, an API body
    with ``lines: []``) that still get an (empty) statement; ``custodian``: ids are the custodian's
    (mapped through CustodianMapping), else the desk's codes; ``base_units``: quantities are integers
    of the asset's smallest unit."""

    format: str
    rows: list[Row] | None = None
    errors: list[LineError] = field(default_factory=list)
    columns: list[str] = field(default_factory=lambda: list(CSV_REQUIRED))
    accounts: list[str] = field(default_factory=list)
    custodian: str | None = None
    base_units: bool = False
    copy_offset: int = 0
    as_of: Any = None  # a JSON body's own as_of, if any
    known_clean: bool = False  # every staged row passed the fast path's checks

    @property
    def line_count(self) -> int:
        return len(self.rows or [])


def _text(value: Any) -> str | None:
    """A JSON value as the text the SQL checks read: strings as they are, numbers as written.

    Numbers arrive as Decimal (the parser keeps them exact); a bool or an object is not a quantity
    and is passed on as text that will not parse, so it is refused with its line."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        return json.dumps(value)[:60]
    return str(value)


def _decode(data: bytes) -> tuple[str | None, LineError | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return None, LineError(line, "file", "Not UTF-8 text.")


def _load_json(data: bytes) -> tuple[Any, list[LineError]]:
    from decimal import Decimal

    text, decode_error = _decode(data)
    if decode_error:
        return None, [decode_error]
    try:
        body = json.loads(text or "", parse_float=Decimal, parse_int=Decimal)
        check_json(body, MAX_JSON_DEPTH)  # no NUL, no unpaired surrogate reaches the database
    except RecursionError:
        return None, [LineError(1, "file", "JSON nested too deep.")]
    except json.JSONDecodeError as bad:
        return None, [LineError(bad.lineno, "file", f"Not valid JSON: {bad.msg}.")]
    except UnsafeJSON as unsafe:
        return None, [LineError(None, "file", unsafe.detail)]
    return body, []


# --- generic CSV -------------------------------------------------------------------------------------


def csv_header(data: bytes) -> tuple[list[str], int, LineError | None]:
    """The header's columns, the byte offset where the rows begin, or the header's error."""
    end = data.find(b"\n")
    first = data[: end if end >= 0 else len(data)]
    offset = end + 1 if end >= 0 else len(data)
    text, error = _decode(first)
    if error:
        return [], offset, LineError(1, "header", "Not UTF-8 text.")
    columns = [c.strip() for c in next(csv.reader([(text or "").rstrip("\r")]), [])]
    expected = ",".join(CSV_REQUIRED)
    if columns[:3] != CSV_REQUIRED:
        got = ",".join(columns) or "(empty)"
        return (
            columns,
            offset,
            LineError(1, "header", f"The header must begin exactly {expected!r}; it is {got[:200]!r}."),
        )
    extra = columns[3:]
    unknown = [c for c in extra if c not in CSV_OPTIONAL]
    if unknown or len(set(extra)) != len(extra):
        return (
            columns,
            offset,
            LineError(
                1,
                "header",
                f"Unknown or repeated column {(unknown or extra)[0][:40]!r}: after {expected!r} only "
                f"{', '.join(CSV_OPTIONAL)} may follow, once each.",
            ),
        )
    return columns, offset, None


def parse_csv(data: bytes, *, rows: bool) -> Parsed:
    """The generic CSV. ``rows=False``: only the header is read (the rows go by COPY); True: every row
    is read here and a row of the wrong shape is listed with its line."""
    columns, offset, error = csv_header(data)
    parsed = Parsed(format=Format.CSV, columns=columns, copy_offset=offset)
    if error:
        parsed.errors.append(error)
        return parsed
    if not rows:
        return parsed
    parsed.rows = []
    text, decode_error = _decode(data)
    if decode_error:
        parsed.errors.append(decode_error)
        return parsed
    width = len(columns)
    reader = csv.reader(io.StringIO(text or "", newline=""))
    next(reader, None)
    try:
        for values in reader:
            line = reader.line_num
            if not values or (len(values) == 1 and not values[0].strip()):
                continue  # a blank line: nothing
            if "\x00" in "".join(values):
                parsed.errors.append(LineError(line, "file", "A NUL character."))
                continue
            if len(values) != width:
                parsed.errors.append(
                    LineError(line, "file", f"{len(values)} values where the header has {width} columns.")
                )
                continue
            cells = dict(zip(columns, (v.strip() for v in values), strict=True))
            parsed.rows.append(
                cast(
                    Row,
                    (
                        line,
                        cells["account"],
                        cells["asset"],
                        cells["quantity"],
                        *(cells.get(p) or None for p in PARTS),
                    ),
                )
            )
    except csv.Error as error:
        parsed.errors.append(LineError(reader.line_num, "file", f"Not CSV: {error}."))
    return parsed


# --- JSON (API.md's body) ----------------------------------------------------------------------------


def parse_json_body(body: Any, *, account: str | None = None) -> Parsed:
    """API.md's ``{account, lines: [{asset, quantity, available?, …}]}`` (already decoded). Line N
    is ``lines[N-1]``."""
    parsed = Parsed(format=Format.JSON, rows=[], columns=[*CSV_REQUIRED, *PARTS])
    if not isinstance(body, dict):
        parsed.errors.append(LineError(None, "file", "Expected an object {account, as_of, lines}."))
        return parsed
    account = account or _text(body.get("account"))
    parsed.as_of = body.get("as_of")
    if not account:
        parsed.errors.append(LineError(None, "account", "Name the custody account (its code)."))
        return parsed
    lines = body.get("lines")
    if not isinstance(lines, list):
        parsed.errors.append(LineError(None, "lines", "Expected a list of {asset, quantity}."))
        return parsed
    parsed.accounts.append(account)
    for number, item in enumerate(lines, start=1):
        if not isinstance(item, dict):
            parsed.errors.append(LineError(number, "line", "Expected an object {asset, quantity}."))
            continue
        unknown = sorted(set(item) - {"asset", "quantity", *PARTS})
        if unknown:
            parsed.errors.append(LineError(number, str(unknown[0])[:40], "Unknown field."))
            continue
        parsed.rows.append(  # type: ignore[union-attr]
            cast(
                Row,
                (
                    number,
                    account,
                    _text(item.get("asset")),
                    _text(item.get("quantity")),
                    *(_text(item.get(p)) for p in PARTS),
                ),
            )
        )
    return parsed


def parse_json(data: bytes, *, account: str | None = None) -> Parsed:
    body, errors = _load_json(data)
    if errors:
        return Parsed(format=Format.JSON, errors=errors)
    return parse_json_body(body, account=account)


# --- Fireblocks ---------------------------------------------------------------------------------------


def _fireblocks_items(body: Any) -> Iterator[tuple[str | None, Any]] | None:
    """(vault id, VaultAsset-like dict) in document order, or None for an unknown shape."""
    if isinstance(body, dict) and isinstance(body.get("assetWallets"), list):
        return ((_text(w.get("vaultId")) if isinstance(w, dict) else None, w) for w in body["assetWallets"])
    if isinstance(body, dict) and isinstance(body.get("accounts"), list):
        vaults = body["accounts"]
    elif isinstance(body, list):
        vaults = body
    elif isinstance(body, dict) and "assets" in body:
        vaults = [body]
    else:
        return None

    def walk() -> Iterator[tuple[str | None, Any]]:
        for vault in vaults:
            vault_id = _text(vault.get("id")) if isinstance(vault, dict) else None
            assets = vault.get("assets") if isinstance(vault, dict) else None
            if not isinstance(assets, list) or not assets:
                yield vault_id, None  # a vault without assets: an empty statement (or a shape error)
                continue
            for asset in assets:
                yield vault_id, asset

    return walk()


def parse_fireblocks(data: bytes) -> Parsed:
    """Fireblocks vault accounts or asset wallets. Line N is the N-th asset balance in the file."""
    parsed = Parsed(
        format=Format.FIREBLOCKS, rows=[], columns=[*CSV_REQUIRED, *PARTS], custodian=Format.FIREBLOCKS
    )
    body, errors = _load_json(data)
    if errors:
        parsed.errors = errors
        return parsed
    items = _fireblocks_items(body)
    if items is None:
        parsed.errors.append(
            LineError(None, "file", "Expected Fireblocks vault accounts ({accounts: […]}) or asset wallets.")
        )
        return parsed
    number = 0
    for vault_id, asset in items:
        if asset is None:
            if vault_id:
                parsed.accounts.append(vault_id)
            else:
                parsed.errors.append(LineError(number + 1, "id", "A vault account without an id."))
            continue
        number += 1
        if not isinstance(asset, dict):
            parsed.errors.append(LineError(number, "asset", "Expected a VaultAsset object."))
            continue
        missing = [
            k for k in ("total", "available", "pending", "frozen", "lockedAmount") if asset.get(k) is None
        ]
        if missing:
            parsed.errors.append(LineError(number, missing[0], "Missing (a VaultAsset requires it)."))
            continue
        parsed.rows.append(  # type: ignore[union-attr]
            (
                number,
                vault_id,
                _text(asset.get("assetId", asset.get("id"))),
                _text(asset["total"]),
                _text(asset["available"]),
                _text(asset["pending"]),
                _text(asset["lockedAmount"]),
                _text(asset["frozen"]),
            )
        )
    return parsed


# --- Coinbase Prime -------------------------------------------------------------------------------------


def parse_coinbase_prime(data: bytes, *, account: str | None = None) -> Parsed:
    """Portfolio balances: quantity = amount (holds included), locked = holds, available =
    withdrawable_amount. Line N is ``balances[N-1]``."""
    parsed = Parsed(
        format=Format.COINBASE_PRIME,
        rows=[],
        columns=[*CSV_REQUIRED, *PARTS],
        custodian=Format.COINBASE_PRIME,
    )
    body, errors = _load_json(data)
    if errors:
        parsed.errors = errors
        return parsed
    if isinstance(body, dict) and isinstance(body.get("balance"), dict):  # a wallet's balance
        balances = [body["balance"]]
    elif isinstance(body, dict) and isinstance(body.get("balances"), list):
        balances = body["balances"]
    else:
        parsed.errors.append(
            LineError(None, "file", "Expected Coinbase Prime portfolio balances ({balances: […]}).")
        )
        return parsed
    portfolio = (_text(body.get("portfolio_id")) if isinstance(body, dict) else None) or account
    if not portfolio:
        parsed.errors.append(
            LineError(
                None,
                "portfolio_id",
                "Name the portfolio (the file's portfolio_id, or the account to import it into).",
            )
        )
        return parsed
    parsed.accounts.append(portfolio)
    for number, balance in enumerate(balances, start=1):
        if not isinstance(balance, dict):
            parsed.errors.append(LineError(number, "balance", "Expected a Balance object."))
            continue
        if balance.get("amount") is None:
            parsed.errors.append(LineError(number, "amount", "Missing."))
            continue
        parsed.rows.append(  # type: ignore[union-attr]
            (
                number,
                portfolio,
                _text(balance.get("symbol")),
                _text(balance["amount"]),
                _text(balance.get("withdrawable_amount")),
                None,
                _text(balance.get("holds")),
                None,
            )
        )
    return parsed


# --- BitGo ------------------------------------------------------------------------------------------------


def parse_bitgo(data: bytes) -> Parsed:
    """Wallets in base units: quantity = balanceString, available = spendableBalanceString (both divided
    by the asset's decimals in SQL); confirmedBalanceString must be base units too. Line N is the N-th
    wallet."""
    parsed = Parsed(
        format=Format.BITGO, rows=[], columns=[*CSV_REQUIRED, *PARTS], custodian=Format.BITGO, base_units=True
    )
    body, errors = _load_json(data)
    if errors:
        parsed.errors = errors
        return parsed
    if isinstance(body, dict) and isinstance(body.get("wallets"), list):
        wallets = body["wallets"]
    elif isinstance(body, list):
        wallets = body
    elif isinstance(body, dict) and "balanceString" in body:
        wallets = [body]
    else:
        parsed.errors.append(
            LineError(None, "file", "Expected BitGo wallets ({wallets: […]}, a list, or one wallet).")
        )
        return parsed
    for number, wallet in enumerate(wallets, start=1):
        if not isinstance(wallet, dict):
            parsed.errors.append(LineError(number, "wallet", "Expected a Wallet object."))
            continue
        missing = [k for k in ("id", "coin", "balanceString") if wallet.get(k) is None]
        if missing:
            parsed.errors.append(LineError(number, missing[0], "Missing."))
            continue
        confirmed = _text(wallet.get("confirmedBalanceString"))
        if confirmed is not None and not confirmed.isdigit():
            parsed.errors.append(
                LineError(
                    number, "confirmedBalanceString", f"Not a whole number of base units: {confirmed[:40]!r}."
                )
            )
            # the line is still checked below: every error of it is listed
        parsed.rows.append(  # type: ignore[union-attr]
            (
                number,
                _text(wallet["id"]),
                _text(wallet["coin"]),
                _text(wallet["balanceString"]),
                _text(wallet.get("spendableBalanceString")),
                None,
                None,
                None,
            )
        )
    return parsed


def parse(data: bytes, *, format: str, account: str | None = None, csv_rows: bool = False) -> Parsed:
    """Read ``data`` as ``format`` (one of ``FORMATS``). ``account``: the account a file that does not
    name it is for (Coinbase Prime's portfolio, a JSON file without ``account``)."""
    if format == Format.CSV:
        return parse_csv(data, rows=csv_rows)
    if format == Format.JSON:
        return parse_json(data, account=account)
    if format == Format.FIREBLOCKS:
        return parse_fireblocks(data)
    if format == Format.COINBASE_PRIME:
        return parse_coinbase_prime(data, account=account)
    if format == Format.BITGO:
        return parse_bitgo(data)
    return Parsed(
        format=format, errors=[LineError(None, "format", f"Unknown format; one of {', '.join(FORMATS)}.")]
    )
