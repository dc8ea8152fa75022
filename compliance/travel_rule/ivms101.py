"""IVMS101 (interVASP Messaging Standard 101): a strict validator of its JSON form, and the builder of
the identity payload a travel-rule message carries.

The validator walks a payload against the IVMS101 data model and reports every problem it finds (not
only the first), each with the path of the field it concerns (``originator.originatorPersons[0].
naturalPerson.name``), so an officer can see what to fix. What it checks:

- the shape: every object's fields by their IVMS101 names; a field named otherwise is reported with
  the name IVMS101 gives it (``nameIdentifiers`` → ``nameIdentifier``, ``town`` → ``townName``,
  snake_case → camelCase): the receiving VASP's parser would drop it silently;
- both spellings of the standard: IVMS101 (2020) and IVMS101.2023, which renamed a few elements
  (``originatorPersons`` → ``originatorPerson``, ``beneficiaryPersons`` → ``beneficiaryPerson``, a
  legal person's ``customerNumber`` → ``customerIdentification``). Either is accepted; one object
  giving both spellings of one element is reported;
- required elements and cardinalities; exactly one of ``naturalPerson`` / ``legalPerson`` per person;
- the constraints: at least one legal name (``nameIdentifierType`` / ``legalPersonNameIdentifierType``
  ``LEGL``, C6/C3); ``addressType``, ``townName`` and ``country`` in every address and a street with a
  building name or number, or address lines (C8); ISO 3166-1 alpha-2 country codes (``XX`` allowed for
  ``countryOfResidence``); code lists (name, address and identifier type codes); a legal person's
  national identifier is RAID, MISC, LEIX or TXID (C7), has no country of issue, and names its
  registration authority unless it is an LEI (C9); an LEI has valid ISO 17442 check digits (C11);
  a registration authority is a GLEIF registration authority code (C10, see ``_check_authority``);
  a date of birth is a real date in the past (C2); the Max*Text lengths.

An identity payload is also required to carry the originator, the beneficiary and both VASPs (as
TRISA's reference implementation requires); a transfer to an unhosted wallet has no beneficiary VASP
(``unhosted=True``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from compliance.travel_rule.countries import is_country

SPELLING_2020 = "2020"
SPELLING_2023 = "2023"


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}

    def __str__(self) -> str:
        return f"{self.path or '(payload)'}: {self.message}"


@dataclass
class Verdict:
    """What the validator found: the problems (empty when valid) and the spelling the payload used."""

    problems: list[Problem] = field(default_factory=list)
    # Constraints of the standard that TRISA's reference validator leaves unchecked (an LEI's check
    # digits): shown to the officer, not blocking, so a payload is judged as the network judges it.
    warnings: list[Problem] = field(default_factory=list)
    spellings: set[str] = field(default_factory=set)

    @property
    def is_valid(self) -> bool:
        return not self.problems

    @property
    def spelling(self) -> str:
        if self.spellings == {SPELLING_2023}:
            return SPELLING_2023
        if len(self.spellings) > 1:
            return "mixed"
        return SPELLING_2020

    def paths(self) -> list[str]:
        return [p.path for p in self.problems]

    def as_list(self) -> list[dict[str, str]]:
        return [p.as_dict() for p in self.problems]


# --- the data model -------------------------------------------------------------------------------

NATURAL_NAME_TYPES = frozenset({"ALIA", "BIRT", "MAID", "LEGL", "MISC"})
LEGAL_NAME_TYPES = frozenset({"LEGL", "SHRT", "TRAD"})
ADDRESS_TYPES = frozenset({"HOME", "BIZZ", "GEOG"})
NATIONAL_ID_TYPES = frozenset(
    {"ARNU", "CCPT", "RAID", "DRLC", "FIIN", "TXID", "SOCS", "IDCD", "LEIX", "MISC"}
)
LEGAL_PERSON_ID_TYPES = frozenset({"RAID", "MISC", "LEIX", "TXID"})
TRANSLITERATION_METHODS = frozenset(
    "arab aran armn cyrl deva geor grek hani hebr kana kore thai othr".split()  # noqa: SIM905
)

# Element → (kind, required, max length or nested type). Kinds: "text", "object", "list" (of objects),
# "texts" (list of strings), "int", "code" (a code list), "country".
_Spec = dict[str, tuple[str, bool, Any]]

ADDRESS: _Spec = {
    "addressType": ("code", True, ADDRESS_TYPES),
    "department": ("text", False, 50),
    "subDepartment": ("text", False, 70),
    "streetName": ("text", False, 70),
    "buildingNumber": ("text", False, 16),
    "buildingName": ("text", False, 35),
    "floor": ("text", False, 70),
    "postBox": ("text", False, 16),
    "room": ("text", False, 70),
    "postCode": ("text", False, 16),
    "townName": ("text", True, 35),
    "townLocationName": ("text", False, 35),
    "districtName": ("text", False, 35),
    "countrySubDivision": ("text", False, 35),
    "addressLine": ("texts", False, 70),
    "country": ("country", True, None),
}
NATIONAL_IDENTIFICATION: _Spec = {
    "nationalIdentifier": ("text", True, 35),
    "nationalIdentifierType": ("code", True, NATIONAL_ID_TYPES),
    "countryOfIssue": ("country", False, None),
    "registrationAuthority": ("text", False, 8),
}
DATE_AND_PLACE_OF_BIRTH: _Spec = {
    "dateOfBirth": ("text", True, 10),
    "placeOfBirth": ("text", True, 70),
}
NATURAL_NAME_ID: _Spec = {
    "primaryIdentifier": ("text", True, 100),
    "secondaryIdentifier": ("text", False, 100),
    "nameIdentifierType": ("code", True, NATURAL_NAME_TYPES),
}
NATURAL_NAME: _Spec = {
    "nameIdentifier": ("list", True, NATURAL_NAME_ID),
    "localNameIdentifier": ("list", False, NATURAL_NAME_ID),
    "phoneticNameIdentifier": ("list", False, NATURAL_NAME_ID),
}
NATURAL_PERSON: _Spec = {
    "name": ("object", True, NATURAL_NAME),
    "geographicAddress": ("list", False, ADDRESS),
    "nationalIdentification": ("object", False, NATIONAL_IDENTIFICATION),
    "customerIdentification": ("text", False, 50),
    "dateAndPlaceOfBirth": ("object", False, DATE_AND_PLACE_OF_BIRTH),
    "countryOfResidence": ("country", False, "XX"),
}
LEGAL_NAME_ID: _Spec = {
    "legalPersonName": ("text", True, 100),
    "legalPersonNameIdentifierType": ("code", True, LEGAL_NAME_TYPES),
}
LEGAL_NAME: _Spec = {
    "nameIdentifier": ("list", True, LEGAL_NAME_ID),
    "localNameIdentifier": ("list", False, LEGAL_NAME_ID),
    "phoneticNameIdentifier": ("list", False, LEGAL_NAME_ID),
}
LEGAL_PERSON: _Spec = {
    "name": ("object", True, LEGAL_NAME),
    "geographicAddress": ("list", False, ADDRESS),
    "customerNumber": ("text", False, 50),
    "nationalIdentification": ("object", False, NATIONAL_IDENTIFICATION),
    "countryOfRegistration": ("country", False, None),
}
PERSON: _Spec = {
    "naturalPerson": ("object", False, NATURAL_PERSON),
    "legalPerson": ("object", False, LEGAL_PERSON),
}
ORIGINATOR: _Spec = {
    "originatorPersons": ("list", True, PERSON),
    "accountNumber": ("texts", False, 100),
}
BENEFICIARY: _Spec = {
    "beneficiaryPersons": ("list", True, PERSON),
    "accountNumber": ("texts", False, 100),
}
ORIGINATING_VASP: _Spec = {"originatingVASP": ("object", True, PERSON)}
BENEFICIARY_VASP: _Spec = {"beneficiaryVASP": ("object", True, PERSON)}
INTERMEDIARY_VASP: _Spec = {"intermediaryVASP": ("object", True, PERSON), "sequence": ("int", True, None)}
TRANSFER_PATH: _Spec = {"transferPath": ("list", False, INTERMEDIARY_VASP)}
PAYLOAD_METADATA: _Spec = {"transliterationMethod": ("codes", False, TRANSLITERATION_METHODS)}
IDENTITY_PAYLOAD: _Spec = {
    "originator": ("object", True, ORIGINATOR),
    "beneficiary": ("object", True, BENEFICIARY),
    "originatingVASP": ("object", True, ORIGINATING_VASP),
    "beneficiaryVASP": ("object", True, BENEFICIARY_VASP),
    "transferPath": ("object", False, TRANSFER_PATH),
    "payloadMetadata": ("object", False, PAYLOAD_METADATA),
}

# IVMS101.2023's spellings of elements IVMS101 (2020) named otherwise: (object, 2023 name) → 2020 name.
SPELLINGS_2023: dict[int, dict[str, str]] = {
    id(ORIGINATOR): {"originatorPerson": "originatorPersons"},
    id(BENEFICIARY): {"beneficiaryPerson": "beneficiaryPersons"},
    id(LEGAL_PERSON): {"customerIdentification": "customerNumber"},
}
_SPELLINGS_2020_ONLY: dict[int, set[str]] = {k: set(v.values()) for k, v in SPELLINGS_2023.items()}

# Names other implementations use (TRISA's rekeying, protobuf JSON, OpenVASP drafts) for IVMS101
# elements: reported as "named wrongly" with the IVMS101 name, never silently accepted.
_KNOWN_MISNAMES = {
    "firstname": "secondaryIdentifier",
    "givenname": "secondaryIdentifier",
    "lastname": "primaryIdentifier",
    "surname": "primaryIdentifier",
    "familyname": "primaryIdentifier",
    "street": "streetName",
    "number": "buildingNumber",
    "postalcode": "postCode",
    "zipcode": "postCode",
    "zip": "postCode",
    "town": "townName",
    "city": "townName",
    "state": "countrySubDivision",
    "province": "countrySubDivision",
    "ra": "registrationAuthority",
    "dob": "dateOfBirth",
    "pob": "placeOfBirth",
    "name": "legalPersonName",
    "addresses": "geographicAddress",
    "address": "geographicAddress",
    "country": "countryOfRegistration",
    "accountnumbers": "accountNumber",
}


def _squash(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


def _suggest(key: str, spec: _Spec) -> str | None:
    """The IVMS101 name a misnamed element most likely means, if any."""
    squashed = _squash(key)
    for name in spec:
        candidate = _squash(name)
        if squashed in (candidate, candidate + "s", candidate + "es") or candidate == squashed.rstrip("s"):
            return name
    # protobuf JSON's snake_case with an enum-style suffix (``name_identifiers``, ``address_type``)
    known = _KNOWN_MISNAMES.get(squashed)
    if known in spec:
        return known
    if squashed == "country" and "countryOfIssue" in spec:
        return "countryOfIssue"
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Walker:
    def __init__(self, *, today: date):
        self.verdict = Verdict()
        self.today = today

    def problem(self, path: str, message: str) -> None:
        self.verdict.problems.append(Problem(path, message))

    # --- shape ---

    def resolve(self, obj: dict, spec: _Spec, path: str) -> dict[str, Any]:
        """The object's elements by their IVMS101 (2020) names; misnamed and doubled ones reported."""
        renames = SPELLINGS_2023.get(id(spec), {})
        only_2020 = _SPELLINGS_2020_ONLY.get(id(spec), set())
        resolved: dict[str, Any] = {}
        given_as: dict[str, str] = {}
        for key, value in obj.items():
            if key in spec:
                canonical = key
                if key in only_2020:
                    self.verdict.spellings.add(SPELLING_2020)
            elif key in renames:
                canonical = renames[key]
                self.verdict.spellings.add(SPELLING_2023)
            else:
                hint = _suggest(key, spec)
                self.problem(
                    _join(path, key),
                    f"unknown field; IVMS101 names it '{hint}'" if hint else "unknown field in IVMS101",
                )
                if hint is None or hint in resolved or hint in obj:
                    continue
                # Still look inside it, under the element it stands for: every problem in one pass.
                canonical = hint
            if canonical in resolved:
                self.problem(
                    _join(path, key),
                    f"given twice: as '{given_as[canonical]}' and as '{key}' (the 2020 and 2023 spellings)",
                )
                continue
            resolved[canonical] = value
            given_as[canonical] = key
        self._given_as = given_as
        return resolved

    def walk(self, obj: Any, spec: _Spec, path: str) -> dict[str, Any] | None:
        if not isinstance(obj, dict):
            self.problem(path, f"must be an object, not {_kind(obj)}")
            return None
        fields = self.resolve(obj, spec, path)
        given_as = self._given_as
        for name, (kind, required, arg) in spec.items():
            where = _join(path, given_as.get(name, name))
            value = fields.get(name)
            if _absent(value):
                if required:
                    self.problem(where, "required")
                continue
            self.check_value(value, kind, arg, where)
        self.constraints(fields, spec, path, given_as)
        return fields

    def check_value(self, value: Any, kind: str, arg: Any, where: str) -> None:
        if kind == "text":
            if not isinstance(value, str):
                self.problem(where, f"must be text, not {_kind(value)}")
            elif not value.strip():
                self.problem(where, "must not be blank")
            elif len(value) > arg:
                self.problem(where, f"at most {arg} characters (has {len(value)})")
        elif kind == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                self.problem(where, f"must be a whole number, not {_kind(value)}")
        elif kind == "code":
            if value not in arg:
                self.problem(where, f"'{value}' is not one of {', '.join(sorted(arg))}")
        elif kind == "codes":
            if not isinstance(value, list):
                self.problem(where, f"must be a list, not {_kind(value)}")
            else:
                for i, item in enumerate(value):
                    if item not in arg:
                        self.problem(f"{where}[{i}]", f"'{item}' is not one of {', '.join(sorted(arg))}")
        elif kind == "country":
            if not (is_country(value) or (arg == "XX" and value == "XX")):
                self.problem(where, f"'{value}' is not an ISO 3166-1 alpha-2 country code")
        elif kind == "texts":
            if not isinstance(value, list):
                self.problem(where, f"must be a list, not {_kind(value)}")
                return
            for i, item in enumerate(value):
                self.check_value(item, "text", arg, f"{where}[{i}]")
        elif kind == "object":
            self.walk(value, arg, where)
        elif kind == "list":
            if not isinstance(value, list):
                self.problem(where, f"must be a list, not {_kind(value)}")
                return
            for i, item in enumerate(value):
                self.walk(item, arg, f"{where}[{i}]")
        else:  # pragma: no cover - a spec typo
            raise AssertionError(kind)

    # --- constraints beyond the shape ---

    def constraints(self, f: dict[str, Any], spec: _Spec, path: str, given_as: dict[str, str]) -> None:
        def at(name: str) -> str:
            return _join(path, given_as.get(name, name))

        if spec is PERSON:
            present = [k for k in ("naturalPerson", "legalPerson") if not _absent(f.get(k))]
            if len(present) != 1:
                self.problem(
                    path,
                    "exactly one of naturalPerson or legalPerson is required"
                    + (" (both given)" if len(present) == 2 else " (neither given)"),
                )
        elif spec is ORIGINATOR or spec is BENEFICIARY:
            persons = "originatorPersons" if spec is ORIGINATOR else "beneficiaryPersons"
            if isinstance(f.get(persons), list) and not f[persons]:
                self.problem(at(persons), "at least one person is required")
        elif spec is NATURAL_NAME or spec is LEGAL_NAME:
            ids = f.get("nameIdentifier")
            type_field = "nameIdentifierType" if spec is NATURAL_NAME else "legalPersonNameIdentifierType"
            if isinstance(ids, list):
                if not ids:
                    self.problem(at("nameIdentifier"), "at least one name identifier is required")
                elif not any(isinstance(i, dict) and i.get(type_field) == "LEGL" for i in ids):
                    self.problem(
                        at("nameIdentifier"), f"at least one name identifier must have {type_field} LEGL"
                    )
        elif spec is ADDRESS:
            lines = f.get("addressLine")
            has_lines = isinstance(lines, list) and any(isinstance(x, str) and x.strip() for x in lines)
            if isinstance(lines, list) and len(lines) > 7:
                self.problem(at("addressLine"), f"at most 7 address lines (has {len(lines)})")
            street = not _absent(f.get("streetName"))
            building = not _absent(f.get("buildingNumber")) or not _absent(f.get("buildingName"))
            if not has_lines and not (street and building):
                self.problem(
                    path, "an address needs addressLine, or streetName with buildingNumber or buildingName"
                )
        elif spec is DATE_AND_PLACE_OF_BIRTH:
            dob = f.get("dateOfBirth")
            if isinstance(dob, str) and dob.strip():
                try:
                    born = date.fromisoformat(dob) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", dob) else None
                except ValueError:
                    born = None
                if born is None:
                    self.problem(at("dateOfBirth"), f"'{dob}' is not a date (YYYY-MM-DD)")
                elif born >= self.today:
                    self.problem(at("dateOfBirth"), "must be in the past")
        elif spec is NATIONAL_IDENTIFICATION:
            ra = f.get("registrationAuthority")
            if isinstance(ra, str) and ra and not re.fullmatch(r"RA\d{6}", ra):
                self.problem(
                    at("registrationAuthority"),
                    f"'{ra}' is not a registration authority code (RA and six digits)",
                )
            lei = f.get("nationalIdentifier")
            if f.get("nationalIdentifierType") == "LEIX" and isinstance(lei, str) and not valid_lei(lei):
                self.verdict.warnings.append(
                    Problem(at("nationalIdentifier"), f"'{lei}' is not a valid LEI (ISO 17442 check digits)")
                )
        elif spec is NATURAL_PERSON:
            self._check_authority(f.get("nationalIdentification"), at("nationalIdentification"))
        elif spec is LEGAL_PERSON:
            nid = f.get("nationalIdentification")
            where = at("nationalIdentification")
            if isinstance(nid, dict):
                kind = nid.get("nationalIdentifierType")
                if kind in NATIONAL_ID_TYPES and kind not in LEGAL_PERSON_ID_TYPES:
                    self.problem(
                        f"{where}.nationalIdentifierType",
                        f"a legal person's identifier is RAID, MISC, LEIX or TXID, not {kind}",
                    )
                if not _absent(nid.get("countryOfIssue")):
                    self.problem(
                        f"{where}.countryOfIssue",
                        "not used for a legal person (its country of registration is)",
                    )
                if kind == "LEIX" and not _absent(nid.get("registrationAuthority")):
                    self.problem(f"{where}.registrationAuthority", "not used with an LEI")
                if (
                    kind in LEGAL_PERSON_ID_TYPES
                    and kind != "LEIX"
                    and _absent(nid.get("registrationAuthority"))
                ):
                    self.problem(f"{where}.registrationAuthority", f"required with a {kind} identifier")
                self._check_authority(nid, where)
        elif spec is INTERMEDIARY_VASP:
            seq = f.get("sequence")
            if isinstance(seq, int) and not isinstance(seq, bool) and seq < 0:
                self.problem(at("sequence"), "must not be negative")

    def _check_authority(self, nid: Any, where: str) -> None:
        """C10: a registration authority is one of GLEIF's Registration Authorities List. The list's
        codes run RA000001 upwards (under a thousand are assigned), with RA888888 ("not listed") and
        RA999999 ("not available") reserved; the full list is not on file, so a code outside that range
        (TRISA's test data uses a made-up RA777777, which TRISA's own validator rejects for a natural
        person) is refused. Checked where a person carries the identification."""
        if not isinstance(nid, dict):
            return
        ra = nid.get("registrationAuthority")
        if not isinstance(ra, str) or not re.fullmatch(r"RA\d{6}", ra):
            return  # absent, or already reported as malformed
        number = int(ra[2:])
        if not (1 <= number <= 999 or ra in ("RA888888", "RA999999")):
            self.problem(
                f"{where}.registrationAuthority", f"'{ra}' is not a registration authority in GLEIF's list"
            )


def _absent(value: Any) -> bool:
    return value is None or value == "" or value == []


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", int: "a number"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def valid_lei(lei: str) -> bool:
    """ISO 17442: 20 characters, the last two check digits of ISO 7064 MOD 97-10."""
    if not re.fullmatch(r"[0-9A-Z]{18}[0-9]{2}", lei):
        return False
    return int("".join(str(int(c, 36)) for c in lei)) % 97 == 1


SPECS: dict[str, _Spec] = {
    "IdentityPayload": IDENTITY_PAYLOAD,
    "Person": PERSON,
    "NaturalPerson": NATURAL_PERSON,
    "LegalPerson": LEGAL_PERSON,
    "Address": ADDRESS,
    "NationalIdentification": NATIONAL_IDENTIFICATION,
}


def validate(
    data: Any, *, kind: str = "IdentityPayload", unhosted: str | None = None, today: date | None = None
) -> Verdict:
    """Validate ``data`` (parsed JSON) as the IVMS101 element ``kind``; every problem with its path.

    ``unhosted``: "beneficiary" or "originator" when that side's wallet is not held at a VASP (a
    self-hosted wallet), so the payload names no VASP for it.
    """
    walker = _Walker(today=today or date.today())
    spec = SPECS[kind]
    if kind == "IdentityPayload" and unhosted:
        key = {"beneficiary": "beneficiaryVASP", "originator": "originatingVASP"}[unhosted]
        spec = {**IDENTITY_PAYLOAD, key: (IDENTITY_PAYLOAD[key][0], False, IDENTITY_PAYLOAD[key][2])}
    walker.walk(data, spec, "")
    return walker.verdict


# --- building a payload ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """A legal person as the desk has it on file (the firm, a counterparty, a venue)."""

    legal_name: str
    country: str = ""  # country of registration
    customer_number: str = ""
    lei: str = ""
    registration_id: str = ""  # a register's number (RAID) with its authority
    registration_authority: str = ""
    street: str = ""
    building_number: str = ""
    post_code: str = ""
    town: str = ""
    address_country: str = ""
    address_lines: tuple[str, ...] = ()
    short_name: str = ""


def legal_person(party: Party) -> dict[str, Any]:
    """The IVMS101 ``legalPerson`` of a party: what is on file and nothing more (an empty field is
    left out, so a missing piece shows as missing when validated, never as a made-up value)."""
    names = [{"legalPersonName": party.legal_name, "legalPersonNameIdentifierType": "LEGL"}]
    if party.short_name:
        names.append({"legalPersonName": party.short_name, "legalPersonNameIdentifierType": "SHRT"})
    person: dict[str, Any] = {"name": {"nameIdentifier": names}}
    if any((party.street, party.town, party.post_code, party.address_country, party.address_lines)):
        address: dict[str, Any] = {"addressType": "BIZZ"}
        for key, value in (
            ("streetName", party.street),
            ("buildingNumber", party.building_number),
            ("postCode", party.post_code),
            ("townName", party.town),
            ("country", party.address_country),
        ):
            if value:
                address[key] = value
        if party.address_lines:
            address["addressLine"] = list(party.address_lines)
        person["geographicAddress"] = [address]
    if party.customer_number:
        person["customerNumber"] = party.customer_number
    if party.lei:
        person["nationalIdentification"] = {"nationalIdentifier": party.lei, "nationalIdentifierType": "LEIX"}
    elif party.registration_id:
        person["nationalIdentification"] = {
            "nationalIdentifier": party.registration_id,
            "nationalIdentifierType": "RAID",
            "registrationAuthority": party.registration_authority,
        }
    if party.country:
        person["countryOfRegistration"] = party.country
    return person


def identity_payload(
    *,
    originator: Party,
    originator_accounts: list[str],
    beneficiary: Party,
    beneficiary_accounts: list[str],
    originating_vasp: Party,
    beneficiary_vasp: Party | None,
) -> dict[str, Any]:
    """An IVMS101 identity payload (2020 spelling) for one transfer between two legal persons."""
    payload: dict[str, Any] = {
        "originator": {"originatorPersons": [{"legalPerson": legal_person(originator)}]},
        "beneficiary": {"beneficiaryPersons": [{"legalPerson": legal_person(beneficiary)}]},
        "originatingVASP": {"originatingVASP": {"legalPerson": legal_person(originating_vasp)}},
    }
    if originator_accounts:
        payload["originator"]["accountNumber"] = originator_accounts
    if beneficiary_accounts:
        payload["beneficiary"]["accountNumber"] = beneficiary_accounts
    if beneficiary_vasp is not None:
        payload["beneficiaryVASP"] = {"beneficiaryVASP": {"legalPerson": legal_person(beneficiary_vasp)}}
    return payload
