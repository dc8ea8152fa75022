"""How a name and a wallet address are reduced before they are compared.

Names: one function, ``normalize_name``, used for the list's names at import and for every query, so
both sides go through the same steps:

1. transliteration to ASCII (``anyascii``: Cyrillic, Greek, Arabic, CJK, … and accents: "Владимир" →
   "vladimir", "Société" → "societe"), then case folding;
2. "LAST, First" → "first last" when the name has one comma and what follows it is not a legal form
   ("PUTIN, Vladimir" → "vladimir putin", but "CECOEX, S.A." stays one company name);
3. punctuation: dots and apostrophes join ("S.A." → "sa", "O'Brien" → "obrien"), any other
   non-alphanumeric character separates words ("AL-QAIDA" → "al qaida");
4. legal forms removed at either end of the name, repeatedly (LTD, LLC, GMBH, JSC, "JOINT STOCK
   COMPANY", OOO, S.A. DE C.V., …), unless nothing else would be left;
5. whitespace collapsed.

Word order is left to the scorer (screening.py compares the words sorted), so "Putin Vladimir" and
"Vladimir Putin" reduce to different strings but score 100.

Addresses: ``normalize_address`` — EVM addresses (0x + 40 hex digits: ETH, USDT/USDC on Ethereum,
ARB, BSC, ETC, …) are case-insensitive (the mixed case is only a checksum, EIP-55), and so are bech32
and CashAddr addresses (BIP-173: one address, written in lower or upper case); every other form
(bitcoin base58, Tron, Monero, Litecoin legacy, …) is compared exactly, because base58 is case-sensitive.
"""

from __future__ import annotations

import re

from anyascii import anyascii

# Legal forms, as they read after steps 1-3 (so "S.A." is "sa", "L.L.C." is "llc"). Removed at the end of
# a name; inside a name these words are part of it ("BANCO DE CREDITO", "CO-OPERATIVE BANK").
TRAILING_FORMS: frozenset[str] = frozenset(
    {
        # English
        "ltd",
        "limited",
        "llc",
        "llp",
        "lp",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "plc",
        "pte",
        "pty",
        "pvt",
        "private limited",
        "limited liability company",
        "limited liability partnership",
        # German, Dutch, Nordic
        "gmbh",
        "ag",
        "kg",
        "ug",
        "ev",
        "bv",
        "nv",
        "ab",
        "oy",
        "oyj",
        "as",
        "asa",
        "aps",
        # Romance languages
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "sl",
        "sa de cv",
        "s de rl",
        "s de rl de cv",
        "sapi de cv",
        "ltda",
        "eireli",
        "cia",
        "cie",
        # Russian, Ukrainian, Belarusian, in Latin letters, and the English forms OFAC writes
        "jsc",
        "ojsc",
        "pjsc",
        "cjsc",
        "ao",
        "oao",
        "pao",
        "zao",
        "ooo",
        "tov",
        "too",
        "joint stock company",
        "open joint stock company",
        "closed joint stock company",
        "public joint stock company",
        "private joint stock company",
        # Central and Eastern Europe, Turkey
        "sro",
        "spol sro",
        "spol s ro",
        "zrt",
        "kft",
        "nyrt",
        "sp zoo",
        "doo",
        "dd",
        "ad",
        "ood",
        "eood",
        "sti",
        "anonim sirketi",
        # Middle East and Asia
        "fze",
        "fzco",
        "fzc",
        "fz llc",
        "dmcc",
        "wll",
        "bsc",
        "psc",
        "saog",
        "kk",
        "bhd",
        "sdn bhd",
        "tbk",
    }
)
# Legal forms that lead a name in the list's own usage ("OOO ...", "JOINT STOCK COMPANY ...", "PT ...").
# Short forms that are also words or name particles ("AS", "AB", "AD") are removed only at the end.
LEADING_FORMS: frozenset[str] = frozenset(
    {
        "ooo",
        "oao",
        "zao",
        "pao",
        "jsc",
        "ojsc",
        "pjsc",
        "cjsc",
        "tov",
        "too",
        "pt",
        "joint stock company",
        "open joint stock company",
        "closed joint stock company",
        "public joint stock company",
        "private joint stock company",
        "limited liability company",
        "obshchestvo s ogranichennoi otvetstvennostyu",
        "aktsionernoe obshchestvo",
        "publichnoe aktsionernoe obshchestvo",
        "zakrytoe aktsionernoe obshchestvo",
        "otkrytoe aktsionernoe obshchestvo",
    }
)
_LONGEST_FORM = max(len(form.split()) for form in TRAILING_FORMS | LEADING_FORMS)

_JOINERS = re.compile(r"[.'’`ʼ]")
_SEPARATORS = re.compile(r"[^0-9a-z]+")


def _words(text: str) -> list[str]:
    return _SEPARATORS.sub(" ", _JOINERS.sub("", text)).split()


def _strip_legal_forms(words: list[str]) -> list[str]:
    """Drop legal forms at the end and the start, longest first, while something else remains."""
    changed = True
    while changed and len(words) > 1:
        changed = False
        for size in range(min(_LONGEST_FORM, len(words) - 1), 0, -1):
            if " ".join(words[-size:]) in TRAILING_FORMS:
                words, changed = words[:-size], True
                break
            if " ".join(words[:size]) in LEADING_FORMS:
                words, changed = words[size:], True
                break
    return words


def _only_legal_forms(words: list[str]) -> bool:
    """Whether ``words`` are legal forms and nothing else ("s.a. de c.v.", "ltd", "co ltd")."""
    while words:
        for size in range(min(_LONGEST_FORM, len(words)), 0, -1):
            if " ".join(words[:size]) in TRAILING_FORMS:
                words = words[size:]
                break
        else:
            return False
    return True


def normalize_name(name: str) -> str:
    """The comparable form of a person's or an organisation's name (see the module's docstring)."""
    text = anyascii(name or "").casefold()
    if text.count(",") == 1:
        last, first = text.split(",")
        first_words = _words(first)
        if first_words and not _only_legal_forms(first_words):  # "PUTIN, Vladimir", not "CECOEX, S.A."
            text = f"{first} {last}"
    words = _strip_legal_forms(_words(text))
    return " ".join(words)


def sorted_key(normalized: str) -> str:
    """The words of a normalized name in alphabetical order: comparing two keys with a plain edit
    ratio is rapidfuzz's ``token_sort_ratio`` of the names, without sorting the list's names on every
    query (they are sorted once, when the list is loaded)."""
    return " ".join(sorted(normalized.split()))


_EVM = re.compile(r"0x[0-9a-fA-F]{40}")
_BECH32 = re.compile(r"(bc|tb|ltc|tltc|bcrt)1[02-9ac-hj-np-z]{6,87}", re.IGNORECASE)
_CASHADDR = re.compile(r"(?:bitcoincash:)?([qp][02-9ac-hj-np-z]{41})", re.IGNORECASE)


def normalize_address(address: str) -> str:
    """The comparable form of a wallet address: case folded for EVM, bech32 and CashAddr addresses
    (case carries no meaning in them), exact for everything else (base58 is case-sensitive)."""
    text = (address or "").strip()
    if _EVM.fullmatch(text) or _BECH32.fullmatch(text):
        return text.lower()
    cash = _CASHADDR.fullmatch(text)
    if cash:
        return cash.group(1).lower()
    return text
