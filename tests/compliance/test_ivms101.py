"""The IVMS101 validator against TRISA's published test payloads (../shared/data/ivms101-trisa), and
each required element taken out of a valid payload, one at a time."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from compliance.travel_rule import ivms101
from tests.compliance.conftest import DATA

TRISA = DATA / "ivms101-trisa"


def load(name: str):
    return json.loads((TRISA / name).read_text(encoding="utf-8"))


# Each TRISA file as its implementation judges it (SOURCE.md): the element it is, and valid or not.
VALID = [
    ("address.json", "Address"),
    ("legal_person.json", "LegalPerson"),
    ("natural_person.json", "NaturalPerson"),
    ("national_identification.json", "NationalIdentification"),
    ("person_legal_person.json", "Person"),
    ("person_natural_person.json", "Person"),
]


@pytest.mark.parametrize(("name", "kind"), VALID)
def test_trisas_valid_fixtures_are_valid(name, kind):
    verdict = ivms101.validate(load(name), kind=kind)
    assert verdict.problems == []
    assert verdict.is_valid


def test_the_identity_payload_trisa_rejects_is_rejected_naming_the_registration_authority():
    # TRISA's own NaturalPerson.Validate() refuses the natural persons' RA777777 (SOURCE.md).
    verdict = ivms101.validate(load("identity_payload.json"))
    assert not verdict.is_valid
    assert set(verdict.paths()) >= {
        "originator.originatorPersons[0].naturalPerson.nationalIdentification.registrationAuthority",
        "beneficiary.beneficiaryPersons[0].naturalPerson.nationalIdentification.registrationAuthority",
    }
    assert all(p.path.endswith("registrationAuthority") for p in verdict.problems)
    assert "RA777777" in verdict.problems[0].message


def test_the_identity_payload_with_a_real_registration_authority_is_valid():
    payload = load("identity_payload.json")
    for side, persons in (("originator", "originatorPersons"), ("beneficiary", "beneficiaryPersons")):
        payload[side][persons][0]["naturalPerson"]["nationalIdentification"]["registrationAuthority"] = (
            "RA000628"
        )
    payload["beneficiaryVASP"]["beneficiaryVASP"]["legalPerson"]["nationalIdentification"][
        "registrationAuthority"
    ] = "RA000585"
    assert ivms101.validate(payload).problems == []


def test_both_persons_breaks_the_exactly_one_rule():
    verdict = ivms101.validate(load("person_both_persons.json"), kind="Person")
    assert [(p.path, p.message) for p in verdict.problems] == [
        ("", "exactly one of naturalPerson or legalPerson is required (both given)")
    ]


def test_a_person_with_neither_is_reported():
    verdict = ivms101.validate({}, kind="Person")
    assert verdict.problems[0].message.endswith("(neither given)")


def test_the_alternative_key_names_are_reported_with_the_ivms101_names():
    verdict = ivms101.validate(load("identity_payload_alt.json"))
    problems = {p.path: p.message for p in verdict.problems}
    person = "originator.originatorPersons[0].naturalPerson"
    assert problems[f"{person}.name.nameIdentifiers"] == "unknown field; IVMS101 names it 'nameIdentifier'"
    assert problems[f"{person}.geographicAddresses"] == "unknown field; IVMS101 names it 'geographicAddress'"
    assert problems[f"{person}.geographicAddresses[0].town"] == "unknown field; IVMS101 names it 'townName'"
    assert problems[f"{person}.name.nameIdentifiers[1].lastName"].endswith("'primaryIdentifier'")
    assert problems["beneficiary.beneficiaryPersons[0].naturalPerson.national_identification"].endswith(
        "'nationalIdentification'"
    )
    assert problems["beneficiaryVASP.beneficiaryVASP.legalPerson.country"].endswith("'countryOfRegistration'")


def test_the_protobuf_json_form_is_not_ivms101_json():
    verdict = ivms101.validate(load("identity_payload.pb.json"))
    paths = verdict.paths()
    assert "originator.originator_persons" in paths
    assert "originating_vasp" in paths
    problems = {p.path: p.message for p in verdict.problems}
    person = "originator.originator_persons[0].natural_person"
    # Enum names are protobuf's, not IVMS101's 4-letter codes; the beneficiary's country is a name.
    assert problems[f"{person}.name.name_identifiers[0].name_identifier_type"].startswith(
        "'NATURAL_PERSON_NAME_TYPE_CODE_LEGL' is not one of"
    )
    assert problems["beneficiary.beneficiary_persons[0].natural_person.geographic_addresses[0].country"] == (
        "'United Kingdom' is not an ISO 3166-1 alpha-2 country code"
    )


def test_the_openvasp_inquiry_names_no_beneficiary_vasp():
    inquiry = json.loads((TRISA / "openvasp" / "inquiry.json").read_text())
    verdict = ivms101.validate(inquiry["IVMS101"])
    assert [(p.path, p.message) for p in verdict.problems] == [("beneficiaryVASP", "required")]
    # ... which a transfer to an unhosted wallet does not need.
    assert ivms101.validate(inquiry["IVMS101"], unhosted="beneficiary").is_valid


# --- every required element, taken out of a valid payload -------------------------------------------


def _valid_payload():
    payload = load("identity_payload.json")
    for side, persons in (("originator", "originatorPersons"), ("beneficiary", "beneficiaryPersons")):
        del payload[side][persons][0]["naturalPerson"]["nationalIdentification"]["registrationAuthority"]
    payload["beneficiaryVASP"]["beneficiaryVASP"]["legalPerson"]["nationalIdentification"][
        "registrationAuthority"
    ] = "RA000585"
    assert ivms101.validate(payload).is_valid
    return payload


NP = "originator.originatorPersons[0].naturalPerson"
LP = "originatingVASP.originatingVASP.legalPerson"
REQUIRED = [
    "originator",
    "beneficiary",
    "originatingVASP",
    "beneficiaryVASP",
    "originator.originatorPersons",
    "beneficiary.beneficiaryPersons",
    "originatingVASP.originatingVASP",
    f"{NP}.name",
    f"{NP}.name.nameIdentifier",
    f"{NP}.name.nameIdentifier[0].primaryIdentifier",
    f"{NP}.name.nameIdentifier[0].nameIdentifierType",
    f"{NP}.geographicAddress[0].addressType",
    f"{NP}.geographicAddress[0].townName",
    f"{NP}.geographicAddress[0].country",
    f"{NP}.nationalIdentification.nationalIdentifier",
    f"{NP}.nationalIdentification.nationalIdentifierType",
    f"{NP}.dateAndPlaceOfBirth.dateOfBirth",
    f"{NP}.dateAndPlaceOfBirth.placeOfBirth",
    f"{LP}.name",
    f"{LP}.name.nameIdentifier[0].legalPersonName",
    f"{LP}.name.nameIdentifier[0].legalPersonNameIdentifierType",
    f"{LP}.geographicAddress[0].townName",
]


def _steps(path: str) -> list:
    steps: list = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        steps.append(name)
        if index:
            steps.append(int(index.rstrip("]")))
    return steps


def _delete(payload, path: str) -> None:
    *parents, last = _steps(path)
    node = payload
    for step in parents:
        node = node[step]
    del node[last]


@pytest.mark.parametrize("path", REQUIRED)
def test_each_missing_required_element_is_reported_by_name(path):
    payload = _valid_payload()
    _delete(payload, path)
    verdict = ivms101.validate(payload)
    assert path in verdict.paths(), verdict.problems
    assert not verdict.is_valid


def test_a_name_without_a_legal_name_identifier_is_reported():
    payload = _valid_payload()
    payload["originator"]["originatorPersons"][0]["naturalPerson"]["name"]["nameIdentifier"][0][
        "nameIdentifierType"
    ] = "ALIA"
    names = payload["originatingVASP"]["originatingVASP"]["legalPerson"]["name"]["nameIdentifier"]
    for n in names:
        n["legalPersonNameIdentifierType"] = "TRAD"
    problems = {p.path: p.message for p in ivms101.validate(payload).problems}
    assert (
        problems[f"{NP}.name.nameIdentifier"]
        == "at least one name identifier must have nameIdentifierType LEGL"
    )
    assert problems[f"{LP}.name.nameIdentifier"].endswith("legalPersonNameIdentifierType LEGL")


@pytest.mark.parametrize(
    ("field", "value"), [("country", "United Kingdom"), ("country", "UK"), ("country", "gb"), ("country", 44)]
)
def test_a_country_that_is_not_an_iso_3166_code_is_reported(field, value):
    payload = _valid_payload()
    payload["beneficiary"]["beneficiaryPersons"][0]["naturalPerson"]["geographicAddress"][0][field] = value
    verdict = ivms101.validate(payload)
    assert verdict.paths() == [
        f"beneficiary.beneficiaryPersons[0].naturalPerson.geographicAddress[0].{field}"
    ]
    assert "ISO 3166" in verdict.problems[0].message


def test_country_of_residence_accepts_xx_and_registration_does_not():
    payload = _valid_payload()
    payload["originator"]["originatorPersons"][0]["naturalPerson"]["countryOfResidence"] = "XX"
    assert ivms101.validate(payload).is_valid
    payload["originatingVASP"]["originatingVASP"]["legalPerson"]["countryOfRegistration"] = "XX"
    assert ivms101.validate(payload).paths() == [f"{LP}.countryOfRegistration"]


def test_an_address_needs_a_street_with_a_building_or_address_lines():
    address = load("address.json")
    del address["buildingNumber"]
    assert not ivms101.validate(address, kind="Address").is_valid
    address = {"addressType": "GEOG", "townName": "Oxford", "country": "GB", "addressLine": ["1 High St"]}
    assert ivms101.validate(address, kind="Address").is_valid


def test_a_date_of_birth_in_the_future_or_not_a_date_is_reported():
    person = load("natural_person.json")
    person["dateAndPlaceOfBirth"]["dateOfBirth"] = "2030-01-01"
    verdict = ivms101.validate(person, kind="NaturalPerson", today=date(2026, 12, 4))
    assert (verdict.paths(), verdict.problems[0].message) == (
        ["dateAndPlaceOfBirth.dateOfBirth"],
        "must be in the past",
    )
    person["dateAndPlaceOfBirth"]["dateOfBirth"] = "1975-02-30"
    assert "not a date" in ivms101.validate(person, kind="NaturalPerson").problems[0].message


def test_a_legal_persons_identifier_follows_the_legal_person_rules():
    legal = load("legal_person.json")
    legal["nationalIdentification"]["countryOfIssue"] = "GB"  # C9: not for a legal person
    legal["nationalIdentification"]["registrationAuthority"] = "RA000585"  # not with an LEI
    paths = ivms101.validate(legal, kind="LegalPerson").paths()
    assert paths == ["nationalIdentification.countryOfIssue", "nationalIdentification.registrationAuthority"]
    legal = load("legal_person.json")
    legal["nationalIdentification"] = {"nationalIdentifier": "12345678", "nationalIdentifierType": "RAID"}
    assert ivms101.validate(legal, kind="LegalPerson").paths() == [
        "nationalIdentification.registrationAuthority"
    ]
    legal["nationalIdentification"]["nationalIdentifierType"] = "SOCS"
    assert "RAID, MISC, LEIX or TXID" in ivms101.validate(legal, kind="LegalPerson").problems[0].message


def test_both_spellings_are_accepted_and_a_doubled_element_is_reported():
    payload = _valid_payload()
    payload["originator"]["originatorPerson"] = payload["originator"].pop("originatorPersons")
    payload["beneficiary"]["beneficiaryPerson"] = payload["beneficiary"].pop("beneficiaryPersons")
    legal = payload["originatingVASP"]["originatingVASP"]["legalPerson"]
    legal["customerIdentification"] = "C-1"
    verdict = ivms101.validate(payload)
    assert verdict.problems == [] and verdict.spelling == "2023"
    # Errors inside a 2023-spelled element carry its 2023 name.
    del payload["originator"]["originatorPerson"][0]["naturalPerson"]["name"]
    assert ivms101.validate(payload).paths() == ["originator.originatorPerson[0].naturalPerson.name"]
    doubled = _valid_payload()
    doubled["originator"]["originatorPerson"] = doubled["originator"]["originatorPersons"]
    problems = ivms101.validate(doubled).problems
    assert [p.path for p in problems] == ["originator.originatorPerson"]
    assert "given twice" in problems[0].message


def test_wrong_types_and_lengths_are_reported_not_raised():
    assert ivms101.validate([], kind="IdentityPayload").problems[0].message == "must be an object, not a list"
    person = load("natural_person.json")
    person["customerIdentification"] = "x" * 51
    person["name"]["nameIdentifier"] = "Sanders"
    paths = ivms101.validate(person, kind="NaturalPerson").paths()
    assert paths == ["name.nameIdentifier", "customerIdentification"]


def test_an_lei_with_wrong_check_digits_is_a_warning_not_an_error():
    # TRISA does not check an LEI's check digits; its own test data carries one that fails them.
    verdict = ivms101.validate(load("person_legal_person.json"), kind="Person")
    assert verdict.is_valid
    assert [w.path for w in verdict.warnings] == ["legalPerson.nationalIdentification.nationalIdentifier"]
    assert ivms101.valid_lei("506700T7Z685VUOZL877")
    assert not ivms101.valid_lei("506700T7Z685VUOZL878")


def test_a_built_payload_round_trips_through_the_validator():
    firm = ivms101.Party(
        legal_name="BorrowDesk Markets Ltd",
        country="GB",
        town="London",
        street="King St",
        building_number="10",
        address_country="GB",
    )
    client = ivms101.Party(legal_name="Acme Trading Ltd", country="GB", customer_number="ACME")
    payload = ivms101.identity_payload(
        originator=firm,
        originator_accounts=["bc1qfirm"],
        beneficiary=client,
        beneficiary_accounts=["bc1qacme"],
        originating_vasp=firm,
        beneficiary_vasp=None,
    )
    assert ivms101.validate(payload, unhosted="beneficiary").is_valid
    broken = copy.deepcopy(payload)
    broken["beneficiary"]["beneficiaryPersons"][0]["legalPerson"]["countryOfRegistration"] = "UK"
    assert ivms101.validate(broken, unhosted="beneficiary").paths() == [
        "beneficiary.beneficiaryPersons[0].legalPerson.countryOfRegistration"
    ]
