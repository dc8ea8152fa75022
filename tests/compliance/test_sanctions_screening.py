"""Screening names and wallet addresses against the real 2021 SDN list (../shared/data/ofac-watchman-bench).

Names match through accents, transliteration, word order, "LAST, First" and legal forms, and clearly
different names do not; every listed wallet address matches exactly and a one-character change does
not; the threshold decides; every result keeps its explanation.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from compliance.models import SanctionsMatch, Screening
from compliance.sanctions import ofac
from compliance.sanctions.normalize import normalize_address, normalize_name
from compliance.sanctions.screening import ALGORITHM, ALGORITHM_VERSION, ListMatcher
from tests.compliance.conftest import BENCH, OFACTEST, import_list, ofac_holds


@pytest.fixture(scope="module")
def bench():
    """The 2021 list as the screener holds it in memory (built from the parsed files, no database)."""
    parsed = ofac.parse_path(BENCH)
    ids = {e.uid: i for i, e in enumerate(parsed.entries)}
    kinds = {e.uid: e.entry_type for e in parsed.entries}
    return ListMatcher.build(
        version_id=1,
        source_name="OFAC SDN",
        names=[(k, ids[u], n, normalize_name(n), kinds[u]) for k, (u, n, _, _) in enumerate(parsed.names)],
        entries={i: (e.uid, e.name, e.entry_type) for i, e in enumerate(parsed.entries)},
        addresses=[(k, ids[u], c, a, normalize_address(a)) for k, (u, c, a) in enumerate(parsed.wallets)],
    )


def _uids(matcher, query, cutoff=88.0):
    return [matcher.entries[h.entry_id][0] for h in matcher.match_names([query], cutoff)]


@pytest.mark.parametrize(
    ("query", "uid"),
    [
        # Accents and other diacritics.
        ("Complejo Turístico Oasis, S.A. de C.V.", "7154"),  # COMPLEJO TURISTICO OASIS, S.A. DE C.V.
        ("Aérocaribbean Airlines", "36"),  # AEROCARIBBEAN AIRLINES
        # Transliteration from Cyrillic.
        ("Олег Владимирович Дерипаска", "24283"),  # DERIPASKA, Oleg Vladimirovich
        ("Рамзан Кадыров", "23343"),  # KADYROV, Ramzan Akhmatovich
        ("Геннадий Тимченко", "16666"),  # TIMCHENKO, Gennady (an alias spells it Gennadiy)
        # Word order.
        ("Vladimirovich Oleg Deripaska", "24283"),
        ("Rotenberg Arkady", "16669"),  # ROTENBERG, Arkady
        ("Arkady Rotenberg", "16669"),
        # "LAST, First" as the query writes it, and without the patronymic.
        ("Deripaska, Oleg Vladimirovich", "24283"),
        ("DERIPASKA, Oleg", "24283"),
        ("Oleg Deripaska", "24283"),
        # Legal forms, whichever the list or the query uses.
        ("Naftan JSC", "12860"),  # NAFTAN OAO
        ("Havin Bank Ltd", "906"),  # HAVIN BANK LIMITED
        ("Tropic Tours", "2110"),  # TROPIC TOURS GMBH
        ("Anglo Caribbean Company Limited", "173"),  # ANGLO-CARIBBEAN CO., LTD.
        ("Aerocaribbean Airlines LLC", "36"),
        # A typo.
        ("Deripaksa Oleg", "24283"),
    ],
)
def test_a_listed_name_matches_through_its_variations(bench, query, uid):
    assert uid in _uids(bench, query)


@pytest.mark.parametrize(
    "query",
    [
        "Acme Trading Ltd",
        "Globex Capital LLC",
        "Northwind Traders Inc",
        "Coinbase Custody Trust Company",
        "Galaxy Digital Holdings",
        "Jane Street Capital",
        "Wintermute Trading",
        "BitGo Trust Company",
        "Binance Holdings Limited",
        "Deutsche Bank AG",
        "Goldman Sachs International",
        "Maria Gonzalez",
        "John Smith",
        "Global Trading",  # two common words inside a listed name are not a match by themselves
    ],
)
def test_a_clearly_different_name_does_not_match(bench, query):
    assert _uids(bench, query) == []


def test_a_common_first_name_alone_does_not_make_a_match(bench):
    # OFAC's own search gives "VLADIMIR PUTIN" / "VLADIMIR BILIY" 90; here a shared first name is not enough.
    assert _uids(bench, "Vladimir Biliy") == []


def test_a_listed_name_inside_a_longer_one_matches_by_its_distinctive_words(bench):
    hits = bench.match_names(["Usama bin Laden"], 88.0)
    network = next(h for h in hits if bench.entries[h.entry_id][0] == "6366")  # USAMA BIN LADEN NETWORK
    assert network.parts["decided_by"] == "token_set" and network.score == 100
    assert network.parts["subset"]["side"] == "query_in_name"
    assert "laden" in network.parts["subset"]["distinctive_words"]


def test_every_listed_wallet_address_matches_exactly_and_a_one_character_change_does_not(bench):
    wallets = ofac_holds(BENCH).wallets  # read from the files here, not by the importer
    assert len(wallets) == 97
    addresses = sorted({address for _, _, address in wallets})
    hits = bench.match_addresses(addresses)
    found = {(bench.entries[h.entry_id][0], code, h.address) for h in hits for code in h.currency.split(", ")}
    assert found == wallets
    changed = [a[:-1] + ("2" if a[-1] != "2" else "3") for a in addresses]
    assert bench.match_addresses(changed) == []
    assert bench.match_addresses([a[:5] + ("x" if a[5] != "x" else "y") + a[6:] for a in addresses]) == []


def test_evm_addresses_match_in_any_case_and_base58_addresses_only_exactly(bench):
    # Listed in lower case (entry 29703): 0x8576acc5c05d6ce88f4e49bf65bdf0c62f91353c.
    checksummed = "0x8576aCC5C05D6Ce88f4e49bF65BdF0C62F91353C"
    assert {bench.entries[h.entry_id][0] for h in bench.match_addresses([checksummed])} == {"29703"}
    base58 = next(a for _, code, a in ofac_holds(BENCH).wallets if code == "XBT" and a.startswith("1"))
    assert bench.match_addresses([base58])
    assert bench.match_addresses([base58.swapcase()]) == []  # base58 is case-sensitive: another address


def test_the_threshold_decides(bench):
    hits = bench.match_names(["Deripaksa Oleg"], 0)
    score = next(h.score for h in hits if bench.entries[h.entry_id][0] == "24283")
    assert 88 <= score < 100
    assert "24283" in _uids(bench, "Deripaksa Oleg", cutoff=score)
    assert "24283" not in _uids(bench, "Deripaksa Oleg", cutoff=score + 0.01)
    assert _uids(bench, "Oleg Deripaska", cutoff=100) == ["24283"]


def test_every_hit_carries_the_parts_of_its_score(bench):
    [hit] = [h for h in bench.match_names(["Олег Дерипаска"], 88) if bench.entries[h.entry_id][0] == "24283"]
    assert hit.parts["query_normalized"] == "oleg deripaska"
    assert hit.parts["name_normalized"] == "oleg vladimirovich deripaska"
    assert hit.parts["first_last_form"] == "deripaska oleg" and hit.parts["first_last"] == 100
    assert hit.parts["token_sort"] < 88 and hit.parts["decided_by"] == "first_last"


# --- screening recorded in the database -----------------------------------------------------------


def test_a_screening_records_its_list_threshold_algorithm_and_explanation(db, carl, settings):
    from compliance.sanctions.services import screen

    settings.SANCTIONS_MATCH_THRESHOLD = 90.0
    version = import_list(OFACTEST).version
    screening, matches = screen(actor=carl, name="Dmitriy Khoroshev")
    [match] = matches
    assert screening == Screening.objects.get() and screening.screened_by == carl
    assert (screening.list_versions, screening.threshold, screening.match_count) == ([version.pk], 90, 1)
    match = SanctionsMatch.objects.get(pk=match.pk)
    assert (match.list_version, match.entry.uid, match.kind, match.status) == (
        version,
        "48603",
        "name",
        "potential",
    )
    assert (match.threshold, match.algorithm, match.algorithm_version) == (
        Decimal("90"),
        ALGORITHM,
        ALGORITHM_VERSION,
    )
    assert match.matched_text == "KHOROSHEV, Dmitriy Yurevich"  # the alias it matched best
    assert match.parts["query_normalized"] == "dmitriy khoroshev"
    assert match.parts["decided_by"] == "first_last" and match.score == Decimal("100.00")
    assert (match.parts["list"], match.parts["uid"]) == ("OFAC SDN", "48603")
    assert match.counterparty is None  # a search holds no one
    # Audited: its insert is in the trail with the officer who screened (one trigger per statement).
    [event] = match.events.all()
    assert (event.pgh_label, event.pgh_context.metadata["user"]) == ("insert", carl.pk)


def test_a_screening_with_no_match_is_recorded_too(db, carl):
    from compliance.sanctions.services import screen

    import_list(OFACTEST)
    screening, matches = screen(actor=carl, name="Acme Trading Ltd", address="0x" + "ab" * 20)
    assert matches == [] and screening.match_count == 0
    assert (screening.query_name, screening.query_address) == ("Acme Trading Ltd", "0x" + "ab" * 20)


def test_a_new_list_version_is_screened_against_once_it_is_in_force(db, carl):
    from compliance.sanctions.services import screen

    import_list(OFACTEST)
    assert screen(actor=carl, name="Oleg Deripaska")[1] == []  # not in the 17-entry subset
    import_list(BENCH)  # replaces it: the cached subset is dropped, the 2021 list loaded
    [match] = screen(actor=carl, name="Oleg Deripaska")[1]
    assert match.entry.uid == "24283"


# --- the API --------------------------------------------------------------------------------------

URL = "/api/v1/compliance/screenings/"


def test_the_screening_api_answers_the_matches_with_their_list_and_score(db, api, carl):
    import_list(OFACTEST)
    response = api.as_user(carl).post(
        URL, {"name": "Suex OTC sro", "address": "0x2F389CE8BD8FF92DE3402FFCE4691D17FC4F6535"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    by_kind = {m["kind"]: m for m in body["matches"]}
    name, address = by_kind["name"], by_kind["address"]
    assert (name["list"], name["entry_name"], name["score"], name["uid"]) == (
        "OFAC SDN",
        "SUEX OTC, S.R.O.",
        "100.00",
        "33151",
    )
    assert name["address"] is None and name["parts"]["decided_by"] == "token_sort"
    assert (address["address"], address["currency"], address["entry_name"]) == (
        "0x2f389ce8bd8ff92de3402ffce4691d17fc4f6535",
        "ETH, USDT",  # listed under both codes: one match
        "SUEX OTC, S.R.O.",
    )
    assert body["threshold"] == "88.00" and body["lists"][0]["list"] == "OFAC SDN"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 501}, "name"),
        ({"address": "1" * 201}, "address"),
        ({"name": "Bad\u0000name"}, "name"),
    ],
)
def test_bad_screening_input_is_a_400_and_records_nothing(db, api, carl, body, field):
    import_list(OFACTEST)
    response = api.as_user(carl).post(URL, body, format="json")
    assert response.status_code == 400, response.content
    if field:
        assert field in response.json().get("fields", {})
    assert not Screening.objects.exists()


@pytest.mark.parametrize("who", ["alice", "bob", "rita", "audrey", "mona"])
def test_only_compliance_screens(db, api, personas, who):
    response = api.as_user(personas[who]).post(URL, {"name": "Anyone"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert not Screening.objects.exists()


def test_screening_with_no_list_in_force_finds_nothing_and_says_which_lists(db, api, carl):
    response = api.as_user(carl).post(URL, {"name": "Oleg Deripaska"}, format="json")
    assert response.status_code == 201
    assert (response.json()["matches"], response.json()["lists"]) == ([], [])
