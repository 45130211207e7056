"""`review_submit` (orders/reviews.py) for a chunk of reviews at once, set-based: the national
simulation writes some 20.000 reviews at scale 0.01, and the per-item service costs a dozen
statements each (the order's lock, the training's rating, the insert, both flag checks, the audit
event and the entitlement check).

Each item is answered exactly as `review_submit` would answer it after the chunk's earlier items: the
same refusals with the same details (ORDER_NOT_FOUND, REVIEW_NOT_ALLOWED_YET, REVIEW_LOCKED,
VALIDATION_FAILED), a new review or an edit of the order's review within the edit window (a second
item for one order is an edit of the first, the same stars and text again change nothing), and the
same effects: the trainings' rating_count and rating_sum by the sums of the chunk, the identical-text
and burst flags (orders/review_flags.py), one audit event per review written or edited, and the
incentives of every participant whose review was the last condition missing
(`entitlements_grant_bulk`), held REVIEW_FLAGGED or not as that participant's flags stood right
after the review that completed the conditions (so the first writer of a ring's text is granted
unheld, as per item; the run holds it later).

What differs from per-item calls, on purpose (as in orders/bulk.py): one `actor` for the chunk; one
time for the chunk, read once every training of the chunk is locked (so, as per item, every review of
those trainings already committed is older and the burst check sees them all). And one case of the
FAST_COMPLETION hold: a participant with two completed trainings reviewed in one chunk, the one
reviewed second completed faster than the training, is held FAST_COMPLETION at the grant, where
per item the grant (made at the first review) is due and the next run holds it.

Each chunk is one transaction and locks what `review_submit` locks, in the same order: the orders (by
id), the trainings (by id), the texts' advisory locks (by hash), then what the grant of the
incentives locks (the ledger's balances in account-id order).
"""

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.catalog.models import Training
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import db_time, json_rows
from prakerja.common.errors import ApplicationError, ValidationFailed
from prakerja.orders import review_flags
from prakerja.orders.bulk import CHUNK_MAX, Refused
from prakerja.orders.errors import OrderNotFound
from prakerja.orders.models import Order, OrderStatus, Review
from prakerja.orders.review_errors import ReviewLocked, ReviewNotAllowedYet
from prakerja.orders.reviews import review_refusal, text_hash

REVIEWS = Review._meta.db_table
ORDERS = Order._meta.db_table
TRAININGS = Training._meta.db_table
AUDIT = AuditEvent._meta.db_table
REVIEW_LABEL = Review._meta.label_lower


def reviews_submit_bulk(
    *, reviews: Sequence[tuple[int, int, int, str]], actor: Actor
) -> list[int | Refused]:
    """`review_submit` for a chunk of (participant id, order id, stars, text), in order: per item
    the Review's id, or Refused with the error `review_submit` raises for it. A refused item
    changes nothing. One transaction and a fixed number of statements, whatever the chunk's size
    (at most CHUNK_MAX items)."""
    if len(reviews) > CHUNK_MAX:
        raise ValidationFailed(
            details={"items": f"at most {CHUNK_MAX} per chunk, not {len(reviews)}"}
        )
    if not reviews:
        return []
    with transaction.atomic():
        return _chunk(list(reviews), actor)


@dataclass
class _Found:
    """An order of the chunk as its lock read it, with its review if it has one."""

    participant_id: int
    training_id: int
    status: str
    certified: bool  # completed with a certificate: a review of it entitles (entitlements.py)
    min_chars: int
    edit_days: int


@dataclass
class _Current:
    """An order's review as the chunk's earlier items left it (pk None: written by this chunk)."""

    pk: int | None
    stars: int
    text: str
    text_hash: str
    created_at: datetime.datetime
    stored: bool  # the row exists before the chunk (an edit updates it, a creation inserts it)
    changed: bool = False


def _chunk(items: list[tuple[int, int, int, str]], actor: Actor) -> list[int | Refused]:
    found, current = _orders_lock(sorted({order_id for _, order_id, _, _ in items}))
    # Every training an item might rate, locked before the chunk's time is read: as per item, a
    # review of one of them committed before is then older than the chunk's reviews.
    _trainings_lock(
        {
            row.training_id
            for participant_id, order_id, _, _ in items
            if (row := found.get(order_id)) is not None
            and row.participant_id == participant_id
            and row.status == OrderStatus.COMPLETED
        }
    )
    now = timezone.now()

    answers: list[int | Refused | None] = [None] * len(items)
    answer_order: dict[int, int] = {}  # item index -> the order whose review it answers with
    late_locked: list[tuple[int, int, int]] = []  # index, order id, edit days: locked in-chunk
    ratings: dict[int, list[int]] = {}  # training id -> [count delta, sum delta]
    touched: set[str] = set()  # text hashes whose reviews' identical-text flags may change
    locks: set[str] = set()
    created_participants: set[int] = set()
    created_trainings: set[int] = set()
    events: list[tuple[str, int, dict[str, Any]]] = []  # event type, order id, details
    moves: list[_Move] = []  # the texts the items gave reviews, in the items' order

    for index, (participant_id, order_id, stars, raw_text) in enumerate(items):
        text = (raw_text or "").strip()
        row = found.get(order_id)
        if row is None or row.participant_id != participant_id:
            answers[index] = Refused(index, OrderNotFound(details={"order_id": order_id}))
            continue
        if row.status != OrderStatus.COMPLETED:
            error = ReviewNotAllowedYet(details={"order_id": order_id, "status": row.status})
            answers[index] = Refused(index, error)
            continue
        review = current.get(order_id)
        if review is not None and now >= review.created_at + datetime.timedelta(days=row.edit_days):
            if review.pk is None:  # written earlier in this chunk: its id comes with the insert
                late_locked.append((index, order_id, row.edit_days))
                continue
            answers[index] = Refused(index, _locked(order_id, review.pk, row.edit_days))
            continue
        refusal = _invalid(stars, text, row.min_chars)
        if refusal is not None:
            answers[index] = Refused(index, refusal)
            continue
        answer_order[index] = order_id
        hash_ = text_hash(text)
        if review is None:
            current[order_id] = _Current(None, stars, text, hash_, now, stored=False)
            delta = ratings.setdefault(row.training_id, [0, 0])
            delta[0] += 1
            delta[1] += stars
            touched.add(hash_)
            locks.add(hash_)
            created_participants.add(participant_id)
            created_trainings.add(row.training_id)
            moves.append(_Move(participant_id, order_id, hash_, created=True))
            details = {"order_id": order_id, "training_id": row.training_id, "stars": stars}
            events.append(("review.submitted", order_id, details))
            continue
        if review.stars == stars and review.text == text:
            continue  # the same review again: nothing to change
        ratings.setdefault(row.training_id, [0, 0])[1] += stars - review.stars
        locks.update((review.text_hash, hash_))
        if hash_ != review.text_hash:
            touched.update((review.text_hash, hash_))
            moves.append(_Move(participant_id, order_id, hash_, created=False))
        details = {
            "order_id": order_id,
            "training_id": row.training_id,
            "stars": stars,
            "stars_before": review.stars,
            "text_changed": text != review.text,
        }
        events.append(("review.edited", order_id, details))
        review.stars, review.text, review.text_hash, review.changed = stars, text, hash_, True

    _ratings_update({pk: delta for pk, delta in ratings.items() if delta != [0, 0]})
    _texts_lock(locks)
    # Before the chunk's writes: what the grant must see of each participant's flags.
    flagged_at_grant, restore = _flags_at_grant(moves, touched, created_participants, found)
    _reviews_insert(current, found, now)
    _reviews_update(current, now)
    _identical_text_flags(touched)
    _burst_flags(created_trainings, now)
    _audit(actor, now, [(kind, current[order].pk, details) for kind, order, details in events])
    if created_participants:
        _flags_set(flagged_at_grant)
        _entitlements_grant(sorted(created_participants), actor)
        _identical_text_flags(restore)

    for index, order_id, days in late_locked:
        pk = current[order_id].pk
        assert pk is not None
        answers[index] = Refused(index, _locked(order_id, pk, days))
    for index, order_id in answer_order.items():
        pk = current[order_id].pk
        assert pk is not None
        answers[index] = pk
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


@dataclass(frozen=True)
class _Move:
    """An item that gave an order's review a text: a new review, or an edit to another text."""

    participant_id: int
    order_id: int
    text_hash: str
    created: bool


def _locked(order_id: int, review_id: int, days: int) -> ReviewLocked:
    return ReviewLocked(details={"order_id": order_id, "review_id": review_id}, days=days)


def _invalid(stars: Any, text: str, min_chars: int) -> ApplicationError | None:
    """review_submit's refusal for these stars and (trimmed) text, or None."""
    return review_refusal(stars, text, min_chars)


# --- statements -----------------------------------------------------------------------------------


def _ids(values: Sequence[Any], pg_type: str = "bigint") -> tuple[str, list[str]]:
    """A list of values as a subquery and its one parameter (a JSON text)."""
    if connection.vendor == "postgresql":
        sql = f"SELECT value::{pg_type} FROM json_array_elements_text(%s::json) AS v(value)"  # noqa: S608
        return sql, [json.dumps(list(values))]
    return "SELECT value FROM json_each(%s)", [json.dumps(list(values))]


def _orders_lock(order_ids: list[int]) -> tuple[dict[int, _Found], dict[int, _Current]]:
    """The chunk's orders locked in id order (as review_submit locks its one order), with their
    participant's scheme rules and their reviews: one statement."""
    found: dict[int, _Found] = {}
    current: dict[int, _Current] = {}
    ids = [pk for pk in order_ids if isinstance(pk, int) and not isinstance(pk, bool)]
    if not ids:
        return found, current
    sql, params = _ids(ids)
    rows = (
        Order.objects.select_for_update(of=("self",))
        .filter(pk__in=RawSQL(sql, params))  # noqa: S611
        .order_by("pk")
        .values_list(
            "pk",
            "participant_id",
            "training_id",
            "status",
            "certificate_number",
            "participant__scheme__review_min_chars",
            "participant__scheme__review_edit_days",
            "review__pk",
            "review__stars",
            "review__text",
            "review__text_hash",
            "review__created_at",
        )
    )
    for (
        pk,
        participant,
        training,
        status,
        number,
        min_chars,
        days,
        rid,
        stars,
        text,
        hash_,
        at,
    ) in rows:
        certified = status == OrderStatus.COMPLETED and number != ""
        found[pk] = _Found(participant, training, status, certified, min_chars, days)
        if rid is not None:
            current[pk] = _Current(rid, stars, text, hash_, at, stored=True)
    return found, current


def _trainings_lock(training_ids: set[int]) -> None:
    """The trainings' rows locked in id order (PostgreSQL; SQLite has one writer at a time)."""
    if not training_ids or connection.vendor != "postgresql":
        return
    sql, params = _ids(sorted(training_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {TRAININGS} WHERE id IN ({sql}) ORDER BY id FOR UPDATE",  # noqa: S608
            params,
        )


def _ratings_update(deltas: dict[int, list[int]]) -> None:
    """rating_count and rating_sum of every training by the chunk's sums, in one UPDATE."""
    if not deltas:
        return
    rows, params = json_rows(
        (("id", "bigint"), ("d_count", "integer"), ("d_sum", "integer")),
        [[pk, count, total] for pk, (count, total) in sorted(deltas.items())],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TRAININGS} SET rating_count = {TRAININGS}.rating_count + r.d_count, "  # noqa: S608
            f"rating_sum = {TRAININGS}.rating_sum + r.d_sum FROM {rows} AS r "
            f"WHERE {TRAININGS}.id = r.id",
            params,
        )


# The first key of review_flags' advisory locks, so the chunk and single reviews meet on the same
# locks.
_ADVISORY_CLASS = review_flags._ADVISORY_CLASS


def _texts_lock(hashes: set[str]) -> None:
    """review_flags.texts_lock in one statement: the texts' advisory locks, taken in the order of
    the hashes (as texts_lock takes them) so a chunk and a single review never wait on each
    other in a circle."""
    if not hashes or connection.vendor != "postgresql":
        return
    keys: list[int] = []
    for hash_ in sorted(hashes):
        key = int.from_bytes(bytes.fromhex(hash_[:8]), "big", signed=True)
        if key not in keys:
            keys.append(key)
    with connection.cursor() as cursor:
        # The ordered subquery is kept as such (PostgreSQL does not pull up a sorted subquery),
        # so the locks are taken row by row in that order.
        cursor.execute(
            "SELECT count(*) FROM (SELECT pg_advisory_xact_lock(%s, s.k) FROM "
            "(SELECT v.k::int AS k, v.n FROM json_array_elements_text(%s::json) "
            "WITH ORDINALITY AS v(k, n) ORDER BY v.n) AS s) AS t",
            [_ADVISORY_CLASS, json.dumps(keys)],
        )


def _flags_at_grant(
    moves: list[_Move], touched: set[str], participants: set[int], found: dict[int, _Found]
) -> tuple[dict[int, bool], set[str]]:
    """Per item, review_submit grants the incentives right after the review that completes the
    conditions, and holds them (REVIEW_FLAGGED) if one of the participant's reviews is flagged at
    that moment; a review later in the chunk with the same text flags it only afterwards (the
    first member of a review ring is granted unheld, the run holds it later). The chunk grants
    once, after all its writes: so it replays the items' texts here, from the reviews of the
    chunk's texts and participants as they are before the chunk (one statement), and returns the
    participants whose flagged state at their grant differs from the chunk's end (participant ->
    flagged then), with the texts whose flags must be recomputed after the grant."""
    if not participants:
        return {}, set()
    texts, text_param = _ids(sorted(touched), "text")
    people, people_param = _ids(sorted(participants))
    select = (
        f"SELECT r.order_id, r.participant_id, r.text_hash, r.flag_identical_text, o.status, "  # noqa: S608
        f"o.certificate_number FROM {REVIEWS} AS r JOIN {ORDERS} AS o ON o.id = r.order_id "
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"{select} WHERE r.text_hash IN ({texts}) UNION {select} "
            f"WHERE r.participant_id IN ({people})",
            [*text_param, *people_param],
        )
        rows = cursor.fetchall()
    review_of: dict[int, tuple[int, str]] = {}  # order id -> (participant, text hash)
    certified: set[int] = {pk for pk, row in found.items() if row.certified}
    still: dict[str, bool] = {}  # texts the chunk leaves alone: flagged or not, as they are
    writers: dict[str, dict[int, int]] = {text: {} for text in touched}  # -> participant: reviews
    orders_of: dict[int, set[int]] = {}
    for order_id, participant_id, hash_, flag, status, number in rows:
        review_of[order_id] = (participant_id, hash_)
        orders_of.setdefault(participant_id, set()).add(order_id)
        if status == OrderStatus.COMPLETED and number != "":
            certified.add(order_id)
        if hash_ in writers:
            count = writers[hash_]
            count[participant_id] = count.get(participant_id, 0) + 1
        else:
            still[hash_] = bool(flag)

    def flagged(participant_id: int) -> bool:
        return any(
            len(writers[text]) >= 2 if text in writers else still.get(text, False)
            for text in (review_of[pk][1] for pk in orders_of.get(participant_id, ()))
        )

    at_grant: dict[int, bool] = {}
    for move in moves:
        before = review_of.get(move.order_id)
        if before is not None:
            count = writers[before[1]]
            count[move.participant_id] -= 1
            if not count[move.participant_id]:
                del count[move.participant_id]
        review_of[move.order_id] = (move.participant_id, move.text_hash)
        orders_of.setdefault(move.participant_id, set()).add(move.order_id)
        count = writers[move.text_hash]
        count[move.participant_id] = count.get(move.participant_id, 0) + 1
        if (
            move.created
            and move.participant_id not in at_grant
            and orders_of[move.participant_id] & certified
        ):
            at_grant[move.participant_id] = flagged(move.participant_id)
    differ = {pk: then for pk, then in at_grant.items() if then != flagged(pk)}
    restore = {review_of[order][1] for pk in differ for order in orders_of[pk]}
    return differ, restore


def _flags_set(flagged: dict[int, bool]) -> None:
    """The identical-text flags of these participants' reviews set as they stood at each one's
    grant (put right after it by _identical_text_flags)."""
    if not flagged:
        return
    rows, params = json_rows(
        (("participant_id", "bigint"), ("flag", "boolean")),
        [[pk, then] for pk, then in sorted(flagged.items())],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {REVIEWS} SET flag_identical_text = r.flag FROM {rows} AS r "  # noqa: S608
            f"WHERE {REVIEWS}.participant_id = r.participant_id",
            params,
        )


def _reviews_insert(
    current: dict[int, _Current], found: dict[int, _Found], now: datetime.datetime
) -> None:
    """The chunk's new reviews (as its last item for each order left them) in one INSERT; their
    ids into `current`."""
    new = {order_id: review for order_id, review in current.items() if not review.stored}
    if not new:
        return
    rows, params = json_rows(
        (
            ("order_id", "bigint"),
            ("training_id", "bigint"),
            ("participant_id", "bigint"),
            ("stars", "integer"),
            ("text", "text"),
            ("text_hash", "text"),
        ),
        [
            [
                order_id,
                found[order_id].training_id,
                found[order_id].participant_id,
                review.stars,
                review.text,
                review.text_hash,
            ]
            for order_id, review in sorted(new.items())
        ],
    )
    stamp = db_time(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {REVIEWS} (order_id, training_id, participant_id, stars, text, "  # noqa: S608
            "text_hash, created_at, updated_at, flag_identical_text, flag_burst) "
            "SELECT r.order_id, r.training_id, r.participant_id, r.stars, r.text, r.text_hash, "
            f"%s, %s, %s, %s FROM {rows} AS r RETURNING id, order_id",
            [stamp, stamp, False, False, *params],
        )
        for pk, order_id in cursor.fetchall():
            new[order_id].pk = pk


def _reviews_update(current: dict[int, _Current], now: datetime.datetime) -> None:
    """The edits of reviews written before the chunk, in one UPDATE."""
    edited = [review for review in current.values() if review.stored and review.changed]
    if not edited:
        return
    rows, params = json_rows(
        (("id", "bigint"), ("stars", "integer"), ("text", "text"), ("text_hash", "text")),
        [[r.pk, r.stars, r.text, r.text_hash] for r in sorted(edited, key=lambda r: r.pk or 0)],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {REVIEWS} SET stars = r.stars, text = r.text, text_hash = r.text_hash, "  # noqa: S608
            f"updated_at = %s FROM {rows} AS r WHERE {REVIEWS}.id = r.id",
            [db_time(now), *params],
        )


def _identical_text_flags(hashes: set[str]) -> None:
    """review_flags.identical_text_flags_spread for every text the chunk wrote or left, in one
    UPDATE: a review is flagged exactly when two participants or more wrote its text (reviews
    already in the database included); that is the state the per-item spreads keep, so setting it
    for these texts is what they would have left."""
    if not hashes:
        return
    among, param = _ids(sorted(hashes), "text")
    with connection.cursor() as cursor:
        # The rows whose flag is not what it should be, toggled.
        cursor.execute(
            f"UPDATE {REVIEWS} SET flag_identical_text = NOT flag_identical_text "  # noqa: S608
            f"WHERE text_hash IN ({among}) AND flag_identical_text <> (text_hash IN ("
            f"SELECT s.text_hash FROM {REVIEWS} AS s WHERE s.text_hash IN ({among}) "
            "GROUP BY s.text_hash HAVING COUNT(DISTINCT s.participant_id) >= 2))",
            [*param, *param],
        )


def _burst_flags(training_ids: set[int], now: datetime.datetime) -> None:
    """review_flags.burst_flags_set for every training given a new review, in one UPDATE. The
    chunk's reviews share one time, so the window ending at it holds every review the per-item
    checks would have counted."""
    if not training_ids:
        return
    among, param = _ids(sorted(training_ids))
    start, end = db_time(now - review_flags.BURST_WINDOW), db_time(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {REVIEWS} SET flag_burst = %s WHERE flag_burst = %s "  # noqa: S608
            "AND created_at > %s AND created_at <= %s AND training_id IN ("
            f"SELECT w.training_id FROM {REVIEWS} AS w WHERE w.training_id IN ({among}) "
            "AND w.created_at > %s AND w.created_at <= %s GROUP BY w.training_id "
            "HAVING COUNT(*) > %s)",
            [True, False, start, end, *param, start, end, review_flags.BURST_REVIEWS],
        )


def _audit(
    actor: Actor, now: datetime.datetime, events: list[tuple[str, int | None, dict[str, Any]]]
) -> None:
    """One audit event per review written or edited, as audit_record writes it, in one INSERT."""
    if not events:
        return
    rows, params = json_rows(
        (("event_type", "text"), ("subject_id", "text"), ("details", "jsonb")),
        [[kind, str(pk), details] for kind, pk, details in events],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {AUDIT} (occurred_at, actor_kind, actor_id, actor_label, event_type, "  # noqa: S608
            "subject_type, subject_id, details) "
            f"SELECT %s, %s, %s, %s, r.event_type, %s, r.subject_id, r.details FROM {rows} AS r",
            [db_time(now), actor.kind, actor.id, actor.label, REVIEW_LABEL, *params],
        )


def _entitlements_grant(participant_ids: list[int], actor: Actor) -> None:
    """incentives.entitlements_after_review for the participants whose review is new: the
    incentives of those for whom it was the last condition missing."""
    # Imported here as reviews.py does: incentives depends on orders, not the other way round.
    from prakerja.incentives.entitlements import entitlements_grant_bulk

    entitlements_grant_bulk(participant_ids=participant_ids, actor=actor)
