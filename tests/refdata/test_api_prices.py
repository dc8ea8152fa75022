"""/api/v1/prices/: POST records a price; GET lists the mark (latest price) of every asset."""

from datetime import timedelta

import pytest
from django.utils import timezone

from borrowdesk.refdata.models import Price
from tests.refdata.factories import PriceFactory
from tests.refdata.helpers import assert_error, refdata_state, send

URL = "/api/v1/prices/"


def test_the_feed_records_a_price_and_gets_it_back_with_decimals_as_strings(api, pete, btc):
    body = {"asset": "BTC", "price_usd": "64250.5", "as_of": "2026-11-24T16:00:00+00:00", "source": "desk"}
    response = send(api.as_user(pete), "post", URL, body)
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "id": Price.objects.get().pk,
        "asset": "BTC",
        "price_usd": "64250.50000000",
        "as_of": "2026-11-24T16:00:00Z",
        "source": "desk",
        "status": "applied",
    }
    assert Price.objects.get(asset=btc).source == "desk"


def test_a_price_as_a_json_number_keeps_its_exact_value(api, pete, btc):
    response = send(api.as_user(pete), "post", URL, '{"asset": "BTC", "price_usd": 0.1}')
    assert (response.status_code, response.json()["price_usd"]) == (201, "0.10000000")


def test_a_price_without_time_or_source_is_a_manual_mark_now(api, pete, btc):
    before = timezone.now()
    response = send(api.as_user(pete), "post", URL, {"asset": "BTC", "price_usd": 64000})
    assert (response.status_code, response.json()["source"]) == (201, "manual")
    assert Price.objects.get().as_of >= before


def test_the_list_is_the_latest_price_of_each_asset(api, alice, btc, eth):
    now = timezone.now()
    PriceFactory(asset=btc, price_usd="60000", as_of=now - timedelta(hours=2))
    PriceFactory(asset=btc, price_usd="64000", as_of=now - timedelta(minutes=1))
    PriceFactory(asset=btc, price_usd="58000", as_of=now - timedelta(days=1))
    PriceFactory(asset=eth, price_usd="3000", as_of=now - timedelta(hours=5))
    body = api.as_user(alice).get(URL).json()
    assert body["count"] == 2
    assert [(p["asset"], p["price_usd"]) for p in body["results"]] == [
        ("BTC", "64000.00000000"),
        ("ETH", "3000.00000000"),
    ]


def test_the_latest_price_of_one_asset(api, alice, btc, eth):
    PriceFactory(asset=btc, price_usd="64000")
    PriceFactory(asset=eth, price_usd="3000")
    body = api.as_user(alice).get(f"{URL}?asset=ETH").json()
    assert [p["asset"] for p in body["results"]] == ["ETH"]


def test_a_recorded_price_becomes_the_mark(api, pete, btc):
    PriceFactory(asset=btc, price_usd="60000", as_of=timezone.now() - timedelta(hours=1))
    send(api.as_user(pete), "post", URL, {"asset": "BTC", "price_usd": "61000"})
    assert api.get(URL).json()["results"][0]["price_usd"] == "61000.00000000"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price_usd": "0"}, "price_usd"),
        ({"price_usd": 0}, "price_usd"),
        ({"price_usd": "-1"}, "price_usd"),
        ({"price_usd": "NaN"}, "price_usd"),
        ({"price_usd": "Infinity"}, "price_usd"),
        ({"price_usd": "-Infinity"}, "price_usd"),
        ({"price_usd": "1e309"}, "price_usd"),
        ({"price_usd": "1" * 17}, "price_usd"),  # above 24 digits with 8 places
        ({"price_usd": "0.123456789"}, "price_usd"),  # more than 8 places
        ({"price_usd": "abc"}, "price_usd"),
        ({"price_usd": None}, "price_usd"),
        ({"price_usd": True}, "price_usd"),
        ({"asset": "NOPE"}, "asset"),
        ({"asset": "btc"}, "asset"),
        ({"asset": None}, "asset"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"as_of": "2999-01-01T00:00:00Z"}, "as_of"),  # in the future
        ({"source": "x" * 65}, "source"),
        ({"source": ""}, "source"),
    ],
)
def test_a_bad_price_is_400_and_writes_nothing(api, pete, btc, body, field):
    before = refdata_state()
    response = send(api.as_user(pete), "post", URL, {"asset": "BTC", "price_usd": "100", **body})
    assert_error(response, 400, "invalid", field)
    assert refdata_state() == before


@pytest.mark.parametrize("raw", ["1e309", "-1e309", "1E+400", "0.000000001", "-0.5"])
def test_a_bad_price_as_a_json_number_is_400_invalid_and_writes_nothing(api, pete, btc, raw):
    before = refdata_state()
    response = send(api.as_user(pete), "post", URL, f'{{"asset": "BTC", "price_usd": {raw}}}')
    assert_error(response, 400, "invalid", "price_usd")
    assert refdata_state() == before


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_json_constant_is_400_parse_error_and_writes_nothing(api, pete, btc, raw):
    before = refdata_state()
    response = send(api.as_user(pete), "post", URL, f'{{"asset": "BTC", "price_usd": {raw}}}')
    assert_error(response, 400, "parse_error")
    assert refdata_state() == before


def test_a_trader_cannot_record_a_price(api, alice, btc):
    before = refdata_state()
    assert_error(
        send(api.as_user(alice), "post", URL, {"asset": "BTC", "price_usd": "1"}), 403, "permission_denied"
    )
    assert refdata_state() == before
