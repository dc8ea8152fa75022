"""POST/GET /api/v1/reconciliation/statements/: JSON and multipart CSV, bad bodies, forbidden roles."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reconciliation.models import ExternalStatement, StatementLine
from tests.reconciliation.factories import desk

URL = "/api/v1/reconciliation/statements/"
AS_OF = "2026-03-02T17:00:00+00:00"


@pytest.fixture
def book(db):
    return desk(("BTC", 8), ("ETH", 18))


def _body(**over):
    body = {
        "account": "INV-A",
        "as_of": AS_OF,
        "lines": [{"asset": "BTC", "quantity": "1.5"}, {"asset": "ETH", "quantity": 2}],
    }
    body.update(over)
    return body


def test_ops_imports_a_json_statement(api, book, bob):
    response = api.as_user(bob).post(URL, _body(), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["line_count"] == 2 and data["account_count"] == 1 and data["source"] == "api"
    statement = ExternalStatement.objects.get(pk=data["id"])
    assert statement.account.code == "INV-A" and statement.imported_by == bob
    detail = api.get(f"{URL}{data['id']}/").json()
    assert detail["lines"] == [
        {
            "asset": "BTC",
            "quantity": "1.500000000000000000",
            "available": None,
            "pending": None,
            "locked": None,
            "frozen": None,
        },
        {
            "asset": "ETH",
            "quantity": "2.000000000000000000",
            "available": None,
            "pending": None,
            "locked": None,
            "frozen": None,
        },
    ]


def test_as_of_a_business_date_means_its_end_or_now_for_today(api, book, tess):
    from borrowdesk.business_day import business_date, business_day_end

    response = api.as_user(tess).post(URL, _body(as_of="2026-03-02"), format="json")
    assert response.status_code == 201, response.json()
    statement = ExternalStatement.objects.get()
    assert statement.business_date.isoformat() == "2026-03-02"
    assert statement.as_of == business_day_end(statement.business_date)
    today = business_date()
    response = api.post(URL, _body(as_of=today.isoformat(), account="INV-B"), format="json")
    assert response.status_code == 201
    latest = ExternalStatement.objects.get(account__code="INV-B")
    assert latest.business_date == today and latest.as_of < business_day_end(today)


def test_treasury_imports_a_multipart_csv(api, book, tess):
    upload = SimpleUploadedFile(
        "custodian.csv", b"account,asset,quantity\nINV-A,BTC,1\nINV-B,ETH,3\n", "text/csv"
    )
    response = api.as_user(tess).post(URL, {"file": upload, "as_of": AS_OF}, format="multipart")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["line_count"], data["account_count"], len(data["statements"]), data["source"]) == (
        2,
        2,
        2,
        "csv",
    )
    assert ExternalStatement.objects.filter(filename="custodian.csv").count() == 2


def test_a_bad_csv_is_a_400_with_every_error_by_line_and_nothing_stored(api, book, bob):
    upload = SimpleUploadedFile(
        "bad.csv", b"account,asset,quantity\nINV-A,BTC,1\nINV-A,DOGE,x\nNOPE,BTC,1\n", "text/csv"
    )
    response = api.as_user(bob).post(URL, {"file": upload, "as_of": AS_OF}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["error_count"] == 3
    assert body["errors"] == [
        {"line": 3, "field": "asset", "message": "Unknown asset 'DOGE'."},
        {"line": 3, "field": "quantity", "message": "Not a decimal number: 'x'."},
        {"line": 4, "field": "account", "message": "Unknown account 'NOPE'."},
    ]
    assert body["fields"]["lines"][0] == "line 3: asset: Unknown asset 'DOGE'."
    assert ExternalStatement.objects.count() == 0 and StatementLine.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"as_of": AS_OF, "lines": []}, "account"),
        (_body(as_of="yesterday"), "as_of"),
        (_body(as_of="2026-02-30"), "as_of"),
        (_body(as_of="2026-03-02T17:00:00"), "as_of"),  # no offset
        (_body(as_of="2999-01-01T00:00:00Z"), "as_of"),  # the future
        (_body(as_of=None), "as_of"),
        (_body(lines="BTC 1"), "lines"),
        (_body(lines=[["BTC", "1"]]), "line"),
        (_body(lines=[{"asset": "BTC", "quantity": "1", "colour": "red"}]), "colour"),
        (_body(lines=[{"asset": "BTC", "quantity": "1e5"}]), "quantity"),
        (_body(lines=[{"asset": "BTC", "quantity": True}]), "quantity"),
        (_body(lines=[{"asset": "BTC"}]), "quantity"),
        (_body(lines=[{"asset": "BTC", "quantity": "NaN"}]), "quantity"),
        (_body(lines=[{"asset": "BTC", "quantity": "1"}, {"asset": "BTC", "quantity": "2"}]), "asset"),
        (_body(source="telepathy"), "source"),
        (_body(extra=1), "extra"),
        ([1, 2], "body"),
    ],
)
def test_bad_json_bodies_are_400_naming_the_field_and_store_nothing(api, book, bob, body, field):
    response = api.as_user(bob).post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    data = response.json()
    assert data["code"] == "invalid"
    assert field in [e["field"] for e in data["errors"]]
    assert ExternalStatement.objects.count() == 0


def test_the_same_body_twice_is_a_409_already_imported(api, book, bob):
    assert api.as_user(bob).post(URL, _body(), format="json").status_code == 201
    again = api.post(URL, _body(), format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_imported"
    assert ExternalStatement.objects.count() == 1


def test_a_multipart_without_a_file_or_with_an_unknown_format_is_refused(api, book, bob):
    assert api.as_user(bob).post(URL, {"as_of": AS_OF}, format="multipart").status_code == 400
    upload = SimpleUploadedFile("x.csv", b"account,asset,quantity\n", "text/csv")
    response = api.post(URL, {"file": upload, "as_of": AS_OF, "format": "xml"}, format="multipart")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "format"


@pytest.mark.parametrize("persona", ["alice", "rita", "carl", "mona", "audrey", "pete"])
def test_other_roles_may_not_import(api, book, personas, persona):
    response = api.as_user(personas[persona]).post(URL, _body(), format="json")
    assert response.status_code == 403
    assert ExternalStatement.objects.count() == 0


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("mona", 200),
        ("audrey", 200),
        ("bob", 200),
        ("tess", 200),
        ("alice", 403),
        ("rita", 403),
        ("carl", 403),
    ],
)
def test_managers_auditors_ops_and_treasury_read(api, book, personas, persona, status):
    api.as_user(personas["bob"]).post(URL, _body(), format="json")
    response = api.as_user(personas[persona]).get(URL)
    assert response.status_code == status
    if status == 200:
        assert response.json()["count"] == 1


def test_the_list_filters_by_account_and_its_query_count_is_fixed(
    api, book, bob, django_assert_max_num_queries
):
    client = api.as_user(bob)
    client.post(URL, _body(), format="json")
    client.post(URL, _body(account="INV-B"), format="json")
    assert [s["account"] for s in client.get(URL, {"account": "INV-B"}).json()["results"]] == ["INV-B"]
    with django_assert_max_num_queries(8):
        assert client.get(URL).json()["count"] == 2


def test_an_unknown_statement_is_404(api, book, bob):
    assert api.as_user(bob).get(f"{URL}999999/").status_code == 404
