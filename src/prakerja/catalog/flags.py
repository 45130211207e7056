"""Curation flags (program.md §7): facts the PMO sees beside a training, never decisions.

* price parity: the price in the program may not exceed the price outside it, as the platform
  declares it;
* near-duplicate: a title and description (nearly) identical to a training of another institution
  in the same category. Text is normalised (case, accents, punctuation) and cut into shingles of
  three words; two trainings are near-duplicates when the Jaccard similarity of their shingle sets
  is at least 0.9. Flags change by bulk UPDATEs.

Finding the near-duplicates of a text does not read its category (which grows with the catalog, and
most of whose trainings share the platform's template sentences): each training stores
locality-sensitive keys of its text (`TrainingTextBand`: MinHash over the shingles, BANDS bands of
ROWS values each). Two texts share a band with probability 1 - (1 - J^ROWS)^BANDS for a Jaccard
similarity J: above 0.9999987 at J = 0.9 (certain for equal texts), about 9 % at 0.5, 0.5 % at
0.3. One indexed query reads the trainings that share a key; the exact similarity decides. The hash
functions are fixed (SHAKE-128 of the shingle), so the same texts always give the same keys.

"Another institution" means another institution *name*: the same institution selling the same
course on two platforms (legitimate, and common in 2020) is two Institution rows of one name.
"""

import functools
import hashlib
import re
import struct
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from prakerja.catalog.models import Institution, Training, TrainingStatus, TrainingTextBand
from prakerja.common.money import format_rupiah

SHINGLE_WORDS = 3
NEAR_DUPLICATE_SIMILARITY = 0.9

BANDS = 24
ROWS = 8
_VALUES = BANDS * ROWS

_WORD = re.compile(r"[^\W_]+")
# ASCII punctuation and symbols to spaces, in one C-level pass (str.translate).
_ASCII_SEPARATORS = str.maketrans(
    {chr(i): " " for i in range(128) if not chr(i).isalnum() and not chr(i).isspace()}
)


def words(text: str) -> list[str]:
    """Lower-case words without accents or punctuation: "Kursus  Barista!" -> [kursus, barista]."""
    if text.isascii():  # most Indonesian text is: the fast path
        return text.translate(_ASCII_SEPARATORS).lower().split()
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(plain.casefold())


def institution_key(name: str) -> str:
    return " ".join(words(name))


def shingles_of(found: list[str]) -> frozenset[tuple[str, ...]]:
    """The word 3-grams of a list of words (the words themselves, as one shingle, when there are
    fewer than three)."""
    if len(found) < SHINGLE_WORDS:
        return frozenset({tuple(found)}) if found else frozenset()
    return frozenset(zip(found, found[1:], found[2:], strict=False))


def shingles(title: str, description: str) -> frozenset[tuple[str, ...]]:
    return shingles_of(words(f"{title} {description}"))


def similarity(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    """Jaccard similarity |a ∩ b| / |a ∪ b| (0 for an empty set)."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def _minhash_values(shingle: tuple[str, ...]) -> tuple[int, ...]:
    """The shingle's value under each of MinHash's BANDS x ROWS hash functions: SHAKE-128 of the
    shingle read as that many 64-bit numbers (little-endian, so the same on every machine)."""
    digest = hashlib.shake_128(" ".join(shingle).encode()).digest(8 * _VALUES)
    return struct.unpack(f"<{_VALUES}Q", digest)


@functools.lru_cache(maxsize=256)  # a new text is looked up, then stored: computed once
def band_keys(found: frozenset[tuple[str, ...]]) -> tuple[int, ...]:
    """The BANDS keys of a shingle set (none for an empty one): each a signed 64-bit hash of the
    band's number and its ROWS MinHash values, as a BigIntegerField holds it. Changing how they are
    computed needs the stored keys computed again (a migration like 0003's)."""
    columns = [_minhash_values(s) for s in found]
    if not columns:
        return ()
    # The minimum over the shingles of each hash function's value (map over the columns at once).
    signature = list(columns[0]) if len(columns) == 1 else list(map(min, *columns))
    keys = []
    for band in range(BANDS):
        values = signature[band * ROWS : (band + 1) * ROWS]
        digest = hashlib.blake2b(struct.pack(f"<H{ROWS}Q", band, *values), digest_size=8)
        keys.append(int.from_bytes(digest.digest(), "little", signed=True))
    return tuple(keys)


_BANDS_TABLE = TrainingTextBand._meta.db_table
_BANDS_COLUMNS = "(training_id, category, key)"
# PostgreSQL: the ids and keys as two arrays however many rows there are, each row's category its
# training's saved one (a short statement, quick to compose and send).
_BANDS_FROM_ARRAYS_SQL = (
    f"INSERT INTO {_BANDS_TABLE} {_BANDS_COLUMNS} "  # noqa: S608 (models' own table names)
    "SELECT k.training_id, t.category, k.key "
    "FROM unnest(%s::bigint[], %s::bigint[]) AS k(training_id, key) "
    f"JOIN {Training._meta.db_table} t ON t.id = k.training_id"
)
# Elsewhere: rows of VALUES, three parameters each, far below SQLite's limit of 32 766 a statement.
_BAND_ROWS_PER_INSERT = 1000


def int_array(numbers: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers (far quicker to build than the driver's adapter)."""
    return "{" + ",".join(str(int(n)) for n in numbers) + "}"


@functools.lru_cache(maxsize=8)
def _bands_values_sql(rows: int) -> str:
    values = ", ".join(["(%s, %s, %s)"] * rows)
    return f"INSERT INTO {_BANDS_TABLE} {_BANDS_COLUMNS} VALUES {values}"  # noqa: S608


def text_bands_store(trainings: Iterable[Training], *, new: bool = False) -> None:
    """Store the band keys of these saved trainings' current category and text, in place of those
    they had (`new`: they have none yet)."""
    trainings = list(trainings)
    if not new:
        TrainingTextBand.objects.filter(training__in=[t.pk for t in trainings]).delete()
    rows = [
        (t.pk, t.category, key)
        for t in trainings
        for key in band_keys(shingles(t.title, t.description))
    ]
    if not rows:
        return
    # Not executemany (a server-side execution per row) nor the ORM's bulk_create (more Python
    # than the insert itself on the partner API's hot path).
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ids, keys = int_array(r[0] for r in rows), int_array(r[2] for r in rows)
            cursor.execute(_BANDS_FROM_ARRAYS_SQL, [ids, keys])
            return
        for start in range(0, len(rows), _BAND_ROWS_PER_INSERT):
            chunk = rows[start : start + _BAND_ROWS_PER_INSERT]
            cursor.execute(_bands_values_sql(len(chunk)), [v for row in chunk for v in row])


def price_above_outside(*, price_idr: int, price_outside_program_idr: int) -> bool:
    return price_idr > price_outside_program_idr


def price_parity_reason(training: Training) -> str:
    """Why a training is flagged for price parity, in Indonesian then English, as the PMO reads it
    in curation; empty when it is not flagged."""
    if not training.flag_price_above_outside:
        return ""
    price = format_rupiah(training.price_idr)
    outside = format_rupiah(training.price_outside_program_idr)
    more = format_rupiah(training.price_idr - training.price_outside_program_idr)
    return (
        f"Harga di program {price} melebihi harga di luar program {outside} (lebih {more}) / "
        f"The price in the program, {price}, is above the price outside it, {outside} "
        f"({more} more)"
    )


@dataclass(frozen=True)
class Text:
    """What near-duplication compares: a training's category, institution and words."""

    category: str
    institution_name: str
    title: str
    description: str

    @classmethod
    def of(cls, training: Training) -> "Text":
        return cls(
            training.category, training.institution.name, training.title, training.description
        )


# The trainings that share a band key with a text, with what the exact comparison reads: one
# statement written once, since building it through the ORM cost more than running it.
_CANDIDATES_SQL = (
    f"SELECT t.id, i.name, t.title, t.description FROM {Training._meta.db_table} t "  # noqa: S608 (models' own table names)
    f"JOIN {Institution._meta.db_table} i ON i.id = t.institution_id "
    f"WHERE t.id IN (SELECT b.training_id FROM {_BANDS_TABLE} b "
    f"WHERE b.category = %s AND b.key IN ({', '.join(['%s'] * BANDS)})) "
    "AND t.status <> %s AND t.id <> %s"
)


def near_duplicates(text: Text, *, exclude_id: int | None = None) -> set[int]:
    """Ids of the trainings in `text`'s category, not withdrawn, of another institution, whose
    title and description are near-identical to `text`'s."""
    mine = shingles(text.title, text.description)
    if not mine:
        return set()
    own_institution = institution_key(text.institution_name)
    # Ids start at 1: 0 excludes nothing.
    params: list[Any] = [
        text.category,
        *band_keys(mine),
        TrainingStatus.WITHDRAWN.value,
        exclude_id or 0,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES_SQL, params)
        rows = cursor.fetchall()
    return _matching(mine, own_institution, rows)


def _matching(
    mine: frozenset[tuple[str, ...]], own_institution: str, candidates: Iterable[tuple[Any, ...]]
) -> set[int]:
    """The ids of the candidates (id, institution name, title, description) that are near-identical
    to the shingles `mine` and of another institution than `own_institution`."""
    found: set[int] = set()
    for pk, institution_name, title, description in candidates:
        theirs = words(f"{title} {description}")
        # A text of n words has at most n - 2 shingles, and the Jaccard similarity of two sets is
        # at most the smaller size over the larger: a much shorter text is skipped unshingled.
        if max(len(theirs) - SHINGLE_WORDS + 1, 1) < NEAR_DUPLICATE_SIMILARITY * len(mine):
            continue
        if institution_key(institution_name) == own_institution:
            continue
        if similarity(mine, shingles_of(theirs)) >= NEAR_DUPLICATE_SIMILARITY:
            found.add(pk)
    return found


# The candidates of several trainings whose band keys are stored, in one statement: each pair of a
# training and another that shares one of its keys, with what the exact comparison reads.
_STORED_CANDIDATES_SQL = (
    "SELECT p.mine, t.id, i.name, t.title, t.description FROM (SELECT DISTINCT q.training_id AS "  # noqa: S608 (models' own table names)
    f"mine, b.training_id AS theirs FROM {_BANDS_TABLE} q JOIN {_BANDS_TABLE} b "
    "ON b.category = q.category AND b.key = q.key AND b.training_id <> q.training_id "
    "WHERE q.training_id IN ({ids})) p "
    f"JOIN {Training._meta.db_table} t ON t.id = p.theirs "
    f"JOIN {Institution._meta.db_table} i ON i.id = t.institution_id WHERE t.status <> %s"
)


def near_duplicates_of_stored(trainings: list[Training]) -> dict[int, set[int]]:
    """near_duplicates of each of these saved trainings (institution loaded), whose band keys for
    their current text are stored: by training id, in one query for all of them."""
    if not trainings:
        return {}
    sql = _STORED_CANDIDATES_SQL.format(ids=", ".join(["%s"] * len(trainings)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(t.pk for t in trainings), TrainingStatus.WITHDRAWN.value])
        rows = cursor.fetchall()
    candidates: dict[int, list[tuple[Any, ...]]] = {}
    for mine, *theirs in rows:
        candidates.setdefault(mine, []).append(tuple(theirs))
    return {
        t.pk: _matching(
            shingles(t.title, t.description),
            institution_key(t.institution.name),
            candidates.get(t.pk, ()),
        )
        for t in trainings
    }


def near_duplicate_flags_spread(*, matches: Iterable[int], lost: Iterable[int]) -> None:
    """After a training's text changed (and was saved): its new `matches` are flagged; each
    training it matched before and no longer does (`lost`) keeps its flag only if it still matches
    another training."""
    matched = set(matches)
    if matched:
        Training.objects.filter(pk__in=matched, flag_near_duplicate=False).update(
            flag_near_duplicate=True
        )
    no_longer = set(lost) - matched
    if not no_longer:
        return
    still: list[int] = []
    cleared: list[int] = []
    for training in Training.objects.filter(pk__in=no_longer).select_related("institution"):
        (still if near_duplicates(Text.of(training), exclude_id=training.pk) else cleared).append(
            training.pk
        )
    if cleared:
        Training.objects.filter(pk__in=cleared).update(flag_near_duplicate=False)
    if still:
        Training.objects.filter(pk__in=still).update(flag_near_duplicate=True)


# --- the check of new trainings -------------------------------------------------------------------

CHECK_CHUNK = 500
# One check at a time (PostgreSQL's transaction-level advisory lock; SQLite's writes are one at a
# time already): a chunk's lookups then see the band keys of every chunk before it, so two new
# near-identical trainings checked by two workers at once cannot each miss the other.
_CHECK_LOCK_SQL = "SELECT pg_advisory_xact_lock(7043726173)"  # "prakerja" near-duplicates


def near_duplicates_check_due(*, chunk: int = CHECK_CHUNK) -> int:
    """Compare the trainings published since the last check (near_duplicate_checked = False) with
    the catalog, a chunk at a time until none is left; returns how many were checked. Each gets its
    band keys and its flag, and each training it matches is flagged too; an audit event names the
    matches of a flagged one. A training withdrawn before its check is only marked checked (the
    check runs again if it is published again). Run every few seconds (settings.PERIODIC_JOBS)."""
    from prakerja.audit.services import audit_record
    from prakerja.common.actors import Actor

    actor = Actor.system("catalog.near_duplicates_check")
    checked = 0
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(_CHECK_LOCK_SQL)
            batch = list(
                Training.objects.select_for_update(of=("self",))
                .select_related("institution")
                .filter(near_duplicate_checked=False)
                .order_by("pk")[:chunk]
            )
            if not batch:
                return checked
            live = [t for t in batch if t.status != TrainingStatus.WITHDRAWN]
            # Stored first, so that two of the chunk that match find each other.
            text_bands_store(live)
            found = near_duplicates_of_stored(live)
            flagged = [pk for pk, matches in found.items() if matches]
            Training.objects.filter(pk__in=[t.pk for t in batch]).update(
                near_duplicate_checked=True
            )
            Training.objects.filter(pk__in=flagged).update(flag_near_duplicate=True)
            Training.objects.filter(pk__in=[t.pk for t in live if not found[t.pk]]).update(
                flag_near_duplicate=False
            )
            near_duplicate_flags_spread(
                matches={pk for matches in found.values() for pk in matches}, lost=()
            )
            for training in live:
                if found[training.pk]:
                    audit_record(
                        actor=actor,
                        event_type="training.near_duplicate_flagged",
                        subject=training,
                        details={"matches": sorted(found[training.pk])},
                    )
            checked += len(batch)
