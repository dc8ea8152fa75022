"""Screening: names scored against every name and alias of the active lists, wallet addresses looked up.

The score of a query name against a listed name (both through ``normalize_name``) is the best of:

- ``token_sort``: rapidfuzz's ``token_sort_ratio`` — the edit similarity (Indel, 0-100) of the two
  names with their words sorted, so word order does not count and typos cost in proportion to length
  ("vladimr putin" / "PUTIN, Vladimir": 96). The list's names are sorted once, when the list is loaded,
  so a query is compared with ``fuzz.ratio`` against those keys (the same figure, without sorting tens
  of thousands of names on every query).
- ``first_last``: the same against a listed individual's name reduced to first given name and surname
  ("PUTIN, Vladimir Vladimirovich" is also "vladimir putin"), so a query without the patronymic or
  middle names is not penalised for their absence.
- ``token_set``: rapidfuzz's ``token_set_ratio`` (100 when one name's words are all in the other),
  counted only when the words of one side are all among the other's, that side has at least two words
  besides particles ("of", "de", "y", …), and one shared word is distinctive (on at most
  ``SANCTIONS_DISTINCTIVE_WORD_SHARE`` of the list's names): "SBERBANK ROSSII" inside "PJSC SBERBANK
  ROSSII GROUP" is a match, "GLOBAL TRADING" inside "AL GLOBAL TRADING COMPANY" is not.

Why not rapidfuzz's ``WRatio`` or a plain ``token_set_ratio``: both give 100 to any name that shares a
single word with another ("VLADIMIR PUTIN" / "VLADIMIR BILIY" scores 90 with OFAC's own tool), which
would hold counterparties for a common first name; and ``token_set_ratio`` over a whole list costs
about ten times a sorted-key ratio.

A name scoring at or above the threshold (``SANCTIONS_MATCH_THRESHOLD``) is a potential match. Every
hit carries its parts, the normalized forms compared and which part decided, so the decision can be
explained later.

Candidates are found in bulk: ``rapidfuzz.process.cdist`` of the queries × the list's distinct sorted
names with the threshold as ``score_cutoff`` (on every core; queries in chunks by length, each against
the names whose length can reach the threshold at all), the same for queries of up to three words
against the first-last forms, and an inverted word index for the subset rule; only the few candidates
are then scored part by part in Python.

Wallet addresses match exactly after ``normalize_address`` (EVM, bech32 and CashAddr without case;
base58 and others exactly), whatever currency code the list gives them: an ETH address listed under
ETH is the same address under USDT or ARB.

The lists' names are held in memory per list version (``ListMatcher``), loaded on first use and
dropped when the version is no longer active.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version as package_version

import numpy as np
from django.conf import settings
from django.db import connection
from rapidfuzz import fuzz, process

from compliance.models import SanctionsAddress, SanctionsEntry, SanctionsListVersion, SanctionsName
from compliance.sanctions.normalize import normalize_address, normalize_name, sorted_key

ALGORITHM = "sorted-words+first-last+subset"
ALGORITHM_VERSION = f"1 (rapidfuzz {package_version('rapidfuzz')}, anyascii {package_version('anyascii')})"
# Particles: never enough on their own to make one name part of another.
PARTICLES = frozenset(
    {"of", "the", "and", "for", "y", "e", "et", "und", "de", "del", "la", "le", "les", "el", "da", "do",
     "dos", "das", "di", "du", "van", "von", "der", "den"}
)  # fmt: skip
CHUNK = 1000  # queries of one length per cdist call: at most 1,000 × the reachable keys of uint8 scores
FIRST_LAST_MAX_WORDS = 3


def threshold() -> float:
    return float(settings.SANCTIONS_MATCH_THRESHOLD)


@dataclass(frozen=True)
class NameHit:
    query: int  # index of the query in the batch
    version_id: int
    entry_id: int
    name_id: int
    matched_name: str
    score: float
    parts: dict


@dataclass(frozen=True)
class AddressHit:
    query: int
    version_id: int
    entry_id: int
    address_id: int
    currency: str
    address: str


@dataclass(frozen=True)
class KeySet:
    """Distinct comparison keys, shortest first, each standing for the names that share it."""

    keys: list[str]
    lengths: np.ndarray  # per key: its length, ascending
    offsets: np.ndarray  # key k stands for members[offsets[k] : offsets[k + 1]]
    members: np.ndarray  # name indices

    @classmethod
    def of(cls, pairs: Sequence[tuple[str, int]]) -> KeySet:
        by_key: dict[str, list[int]] = defaultdict(list)
        for key, name in pairs:
            by_key[key].append(name)
        keys = sorted(by_key, key=lambda k: (len(k), k))
        counts = np.array([len(by_key[k]) for k in keys], dtype=np.int64)
        return cls(
            keys=keys,
            lengths=np.array([len(k) for k in keys], dtype=np.int64),
            offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            members=np.array([name for k in keys for name in by_key[k]], dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.keys)

    def candidates(
        self, query_keys: Sequence[str], queries: Sequence[int], cutoff: float, workers: int
    ) -> list[tuple[int, int]]:
        """(query, name) pairs whose keys score at least about ``cutoff`` (cdist's uint8 scores are
        rounded: the caller scores each pair exactly). Queries are taken by length, those of one length
        together, each group compared with the keys whose length lets them reach the cutoff at all
        (``reachable``): for 88, a third of a list's names or fewer."""
        found: list[tuple[int, int]] = []
        by_length: dict[int, list[int]] = defaultdict(list)
        for q in queries:
            by_length[len(query_keys[q])].append(q)
        chunks = [
            group[start : start + CHUNK]
            for _, group in sorted(by_length.items())
            for start in range(0, len(group), CHUNK)
        ]
        for chunk in chunks:
            length = len(query_keys[chunk[0]])
            low, high = reachable(length, length, cutoff, self.lengths)
            if low >= high:
                continue
            scores = process.cdist(
                [query_keys[q] for q in chunk],
                self.keys[low:high],
                scorer=fuzz.ratio,
                score_cutoff=cutoff,
                dtype=np.uint8,
                workers=workers,
            )
            rows, columns = sparse_nonzero(scores)
            chunk_queries = np.asarray(chunk, dtype=np.int64)
            for q, k in zip(chunk_queries[rows].tolist(), (columns + low).tolist(), strict=True):
                found.extend((q, int(name)) for name in self.members[self.offsets[k] : self.offsets[k + 1]])
        return found


@dataclass
class ListMatcher:
    """One list version's names and addresses, ready to compare (immutable once built)."""

    version_id: int
    source_name: str
    name_ids: np.ndarray  # per name: SanctionsName id
    entry_ids: np.ndarray  # per name: its entry's id
    names: list[str]  # per name: as listed
    normalized: list[str]  # per name: normalize_name
    name_keys: list[str]  # per name: its words sorted
    full: KeySet  # every name's sorted words
    first_last: KeySet  # individuals' first-last forms, sorted
    variants: dict[int, str] = field(default_factory=dict)  # name → its first-last key
    words: list[frozenset[str]] = field(default_factory=list)  # per name: its words, particles left out
    word_totals: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )  # per name: len(words)
    postings: dict[str, np.ndarray] = field(default_factory=dict)  # word → names holding it (sorted)
    distinctive_limit: int = 0  # a word on at most this many names is distinctive
    word_counts: dict[str, int] = field(default_factory=dict)  # word → on how many names
    entries: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # id → (uid, name, type)
    addresses: dict[str, list[tuple[int, int, str, str]]] = field(default_factory=dict)
    # normalized address → [(address id, entry id, currency, address as listed)]

    @property
    def key_count(self) -> int:
        """How many keys a query may be compared with (distinct full names and first-last forms)."""
        return len(self.full) + len(self.first_last)

    @classmethod
    def build(
        cls,
        *,
        version_id: int,
        source_name: str,
        names: Sequence[tuple[int, int, str, str, str]],  # (name id, entry id, name, normalized, type)
        entries: dict[int, tuple[str, str, str]],
        addresses: Sequence[tuple[int, int, str, str, str]],  # (id, entry id, currency, address, normalized)
    ) -> ListMatcher:
        name_keys: list[str] = []
        variant_pairs: list[tuple[str, int]] = []
        variants: dict[int, str] = {}
        words: list[frozenset[str]] = []
        postings: dict[str, list[int]] = defaultdict(list)
        for i, (_, _, name, normalized, entry_type) in enumerate(names):
            key = sorted_key(normalized)
            name_keys.append(key)
            for variant in first_last_forms(name, normalized, entry_type):
                variant_key = sorted_key(variant)
                if variant_key != key:
                    variants.setdefault(i, variant_key)
                    variant_pairs.append((variant_key, i))
            content = frozenset(normalized.split()) - PARTICLES
            words.append(content)
            for word in content:
                postings[word].append(i)
        share = float(settings.SANCTIONS_DISTINCTIVE_WORD_SHARE)
        by_address: dict[str, list[tuple[int, int, str, str]]] = defaultdict(list)
        for address_id, entry_id, currency, address, normalized in addresses:
            by_address[normalized].append((address_id, entry_id, currency, address))
        return cls(
            version_id=version_id,
            source_name=source_name,
            name_ids=np.array([n[0] for n in names], dtype=np.int64),
            entry_ids=np.array([n[1] for n in names], dtype=np.int64),
            names=[n[2] for n in names],
            normalized=[n[3] for n in names],
            name_keys=name_keys,
            full=KeySet.of([(key, i) for i, key in enumerate(name_keys) if key]),
            first_last=KeySet.of(variant_pairs),
            variants=variants,
            words=words,
            word_totals=np.array([len(w) for w in words], dtype=np.int64),
            postings={w: np.array(ix, dtype=np.int64) for w, ix in postings.items()},
            distinctive_limit=max(2, int(share * len(names))),
            word_counts={w: len(ix) for w, ix in postings.items()},
            entries=entries,
            addresses=dict(by_address),
        )

    @classmethod
    def load(cls, version: SanctionsListVersion) -> ListMatcher:
        """Read a version's names, entries and addresses (three queries)."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT n.id, n.entry_id, n.name, n.normalized, e.entry_type "
                f"FROM {SanctionsName._meta.db_table} n "
                f"JOIN {SanctionsEntry._meta.db_table} e ON e.id = n.entry_id "
                "WHERE n.version_id = %s ORDER BY n.id",
                [version.pk],
            )
            names = cursor.fetchall()
            cursor.execute(
                f"SELECT id, uid, name, entry_type FROM {SanctionsEntry._meta.db_table} "
                "WHERE version_id = %s",
                [version.pk],
            )
            entries = {row[0]: (row[1], row[2], row[3]) for row in cursor.fetchall()}
            cursor.execute(
                f"SELECT id, entry_id, currency, address, normalized FROM {SanctionsAddress._meta.db_table} "
                "WHERE version_id = %s",
                [version.pk],
            )
            addresses = cursor.fetchall()
        return cls.build(
            version_id=version.pk,
            source_name=version.source_name,
            names=names,
            entries=entries,
            addresses=addresses,
        )

    # --- names ----------------------------------------------------------------------------------

    def _subset_candidates(self, normalized: str) -> list[tuple[int, str]]:
        """Names whose words are all in the query's, or hold all of the query's (particles aside; at
        least two words on the smaller side, one of them distinctive): (name index, which side)."""
        query_words = frozenset(normalized.split()) - PARTICLES
        found: list[tuple[int, str]] = []
        present = [w for w in query_words if w in self.postings]
        if not present:
            return found
        distinctive = {w for w in present if self.is_distinctive(w)}
        if not distinctive:
            return found
        # The query's words all in a name: intersect their names, rarest word first.
        if len(query_words) >= 2 and len(present) == len(query_words):
            lists = sorted((self.postings[w] for w in present), key=len)
            common = lists[0]
            for other in lists[1:]:
                common = np.intersect1d(common, other, assume_unique=True)
                if not len(common):
                    break
            found.extend((int(i), "query_in_name") for i in common)
        # A name's words all in the query: count, per name, how many of its words the query has.
        if len(present) >= 2:
            hits, counts = np.unique(np.concatenate([self.postings[w] for w in present]), return_counts=True)
            whole = hits[(counts >= 2) & (counts == self.word_totals[hits])]
            if len(whole):
                with_distinctive = np.unique(np.concatenate([self.postings[w] for w in distinctive]))
                whole = whole[np.isin(whole, with_distinctive, assume_unique=True)]
                found.extend((int(i), "name_in_query") for i in whole)
        return found

    def is_distinctive(self, word: str) -> bool:
        """On at most ``distinctive_limit`` of the list's names (a word on none is distinctive too)."""
        return self.word_counts.get(word, 0) <= self.distinctive_limit

    def score_parts(self, normalized: str, key: str, i: int, subset_side: str | None) -> tuple[float, dict]:
        """The score of query (its normalized form and sorted key) against name ``i``, with its parts."""
        token_sort = fuzz.ratio(key, self.name_keys[i])
        parts: dict = {
            "query_normalized": normalized,
            "name_normalized": self.normalized[i],
            "token_sort": round(token_sort, 2),
        }
        best, via = token_sort, "token_sort"
        variant = self.variants.get(i)
        if variant is not None:
            first_last = fuzz.ratio(key, variant)
            parts["first_last_form"] = variant
            parts["first_last"] = round(first_last, 2)
            if first_last > best:
                best, via = first_last, "first_last"
        if subset_side is not None:
            token_set = fuzz.token_set_ratio(normalized, self.normalized[i])
            shared = sorted((frozenset(normalized.split()) - PARTICLES) & self.words[i])
            parts["token_set"] = round(token_set, 2)
            parts["subset"] = {
                "side": subset_side,
                "shared_words": shared,
                "distinctive_words": [w for w in shared if self.is_distinctive(w)],
            }
            if token_set > best:
                best, via = token_set, "token_set"
        parts["decided_by"] = via
        return best, parts

    def match_names(self, queries: Sequence[str], cutoff: float, *, workers: int = -1) -> list[NameHit]:
        """Every (query, entry) whose best name scores at least ``cutoff``: one hit per pair, its best
        name, with the parts of its score."""
        normalized = [normalize_name(q) for q in queries]
        keys = [sorted_key(n) for n in normalized]
        candidates: dict[tuple[int, int], str | None] = {}
        named = [q for q in range(len(keys)) if keys[q]]
        for pair in self.full.candidates(keys, named, cutoff, workers):
            candidates.setdefault(pair, None)
        # A first-last form is two or three words: it is compared with queries as short (a first and a
        # last name as typed); a longer query holds its middle names and meets the full names.
        short = [q for q in named if len(normalized[q].split()) <= FIRST_LAST_MAX_WORDS]
        for pair in self.first_last.candidates(keys, short, cutoff, workers):
            candidates.setdefault(pair, None)
        for q, n in enumerate(normalized):
            for name, side in self._subset_candidates(n):
                candidates[q, name] = side
        best: dict[tuple[int, int], NameHit] = {}
        for (q, i), subset_side in candidates.items():
            if not normalized[q]:
                continue
            score, parts = self.score_parts(normalized[q], keys[q], i, subset_side)
            if score < cutoff:  # cdist's uint8 scores are rounded: the exact figure decides
                continue
            entry_id = int(self.entry_ids[i])
            hit = NameHit(q, self.version_id, entry_id, int(self.name_ids[i]), self.names[i], score, parts)
            if (q, entry_id) not in best or score > best[q, entry_id].score:
                best[q, entry_id] = hit
        return sorted(best.values(), key=lambda h: (h.query, -h.score, h.entry_id))

    # --- addresses ------------------------------------------------------------------------------

    def match_addresses(self, queries: Sequence[str]) -> list[AddressHit]:
        """Every (query, entry) listing the query's address (equal after ``normalize_address``): one
        hit per entry, with every currency code it lists the address under ("ETH, USDT")."""
        hits = []
        for q, address in enumerate(queries):
            by_entry: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
            for address_id, entry_id, currency, as_listed in self.addresses.get(
                normalize_address(address), []
            ):
                by_entry[entry_id].append((address_id, currency, as_listed))
            for entry_id, rows in by_entry.items():
                first_id, _, shown = rows[0]
                currencies = ", ".join(sorted({code for _, code, _ in rows if code}))
                hits.append(AddressHit(q, self.version_id, entry_id, first_id, currencies, shown))
        return hits


def sparse_nonzero(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a large, mostly-zero uint8 matrix, eight cells at a time: the rows and columns
    of its hits (a rescreen's score matrix is hundreds of megabytes with a few thousand hits)."""
    flat = scores.reshape(-1)
    whole = flat.size // 8 * 8
    blocks = np.flatnonzero(flat[:whole].view(np.uint64))
    cells, offsets = np.nonzero(flat[:whole].reshape(-1, 8)[blocks])
    positions = np.concatenate([blocks[cells] * 8 + offsets, np.flatnonzero(flat[whole:]) + whole])
    return np.divmod(positions, scores.shape[1])


def reachable(shortest: int, longest: int, cutoff: float, lengths: np.ndarray) -> tuple[int, int]:
    """The slice of keys (sorted by length) that queries of ``shortest``..``longest`` characters can
    score ``cutoff`` against. ``fuzz.ratio`` is 100 × (1 − d / (l1 + l2)) with the Indel distance
    d ≥ |l1 − l2|, so a score of at least t needs l2 between l1 × (1 − c) / (1 + c) and
    l1 × (1 + c) / (1 − c), c = 1 − t / 100 (for 88: 0.79 to 1.27 times the query's length)."""
    c = max(0.0, 1.0 - cutoff / 100.0)
    if c >= 1.0:
        return 0, len(lengths)
    low = int(np.searchsorted(lengths, math.floor(shortest * (1 - c) / (1 + c)), side="left"))
    high = int(np.searchsorted(lengths, math.ceil(longest * (1 + c) / (1 - c)), side="right"))
    return low, high


def first_last_forms(name: str, normalized: str, entry_type: str) -> list[str]:
    """An individual's name reduced to first given name and surname(s): OFAC's "LAST, First Middle"
    as "first last" and "first last1" (the first of two surnames), or "First Middle Last" as "first
    last". Nothing for organisations, or names of two words."""
    if entry_type != "individual":
        return []
    if name.count(",") == 1:
        last, first = name.split(",")
        surnames, given = normalize_name(last).split(), normalize_name(first).split()
        if not surnames or not given or len(surnames) + len(given) < 3:
            return []
        forms = [" ".join([given[0], *surnames])]
        if len(surnames) >= 2:
            forms.append(f"{given[0]} {surnames[0]}")
        return forms
    words = normalized.split()
    return [f"{words[0]} {words[-1]}"] if len(words) >= 3 else []


# --- the cache of active lists ------------------------------------------------------------------

_lock = threading.Lock()
_matchers: dict[int, ListMatcher] = {}


def active_matchers() -> list[ListMatcher]:
    """The matchers of the active list versions (one query when they are loaded already; a version no
    longer active is dropped, a new one loaded)."""
    versions = list(SanctionsListVersion.objects.filter(is_active=True).order_by("source_name"))
    with _lock:
        for stale in set(_matchers) - {v.pk for v in versions}:
            del _matchers[stale]
        for version in versions:
            if version.pk not in _matchers:
                _matchers[version.pk] = ListMatcher.load(version)
        return [_matchers[v.pk] for v in versions]


def forget_matchers() -> None:
    """Drop every cached list (tests that reuse ids after a rollback)."""
    with _lock:
        _matchers.clear()
