"""The one implementation of writing reviews, set-based: `reviews_submit_bulk` takes a chunk (the
national simulation writes some 20.000 reviews at scale 0.01) and `review_submit`
(orders/reviews.py) is its chunk of one, so the rules cannot drift apart.

Each item is answered as if the chunk's earlier items had been submitted alone before it: the
refusals with their details (ORDER_NOT_FOUND, REVIEW_NOT_ALLOWED_YET, REVIEW_LOCKED,
VALIDATION_FAILED), a new review or an edit of the order's review within the edit window (a second
item for one order is an edit of the first, the same stars and text again change nothing), and the
effects: the trainings' rating_count and rating_sum by the sums of the chunk, the identical-text
and burst flags (orders/review_flags.py), one audit event per review written or edited, and the
incentives of every participant whose review was the last condition missing
(`entitlements_grant_bulk`), held REVIEW_FLAGGED or not as that participant's flags stood right
after the review that completed the conditions (so the first writer of a ring's text is granted
unheld, as alone; the run holds it later).

What differs between a chunk and its items submitted one by one, on purpose (as in
orders/bulk.py): one `actor` for the chunk; one time for the chunk, read once every training of the
chunk is locked (so every review of those trainings already committed is older and the burst check
sees them all). And one case of the FAST_COMPLETION hold: a participant with two completed
trainings reviewed in one chunk, the one reviewed second completed faster than the training, is
held FAST_COMPLETION at the grant, where one by one the grant (made at the first review) is due and
the next run holds it.

Each chunk is one transaction and locks in one order: the orders (by id), the trainings (by id),
the texts' advisory locks (by hash), then what the grant of the incentives locks (the ledger's
balances in account-id order).
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from prakerja.audit.services import AuditNew, audit_record_many
from prakerja.catalog.models import Training
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import among, db_time, id_list, json_rows
from prakerja.common.errors import ValidationFailed
from prakerja.common.refusals import Refused
from prakerja.orders import review_flags
from prakerja.orders.bulk import CHUNK_MAX
from prakerja.orders.errors import OrderNotFound
from prakerja.orders.models import Order, OrderStatus, Review
from prakerja.orders.review_errors import ReviewLocked, ReviewNotAllowedYet
from prakerja.orders.review_flags import TextMove
from prakerja.orders.review_rules import review_refusal, text_hash
from prakerja.orders.signals import reviews_created

REVIEWS = Review._meta.db_table
TRAININGS = Training._meta.db_table
REVIEW_LABEL = Review._meta.label_lower


def reviews_submit_bulk(
    *, reviews: Sequence[tuple[int, int, Any, str]], actor: Actor
) -> list[int | Refused]:
    """Reviews for a chunk of (participant id, order id, stars, text), in order: per item the
    Review's id, or Refused with the error `review_submit` raises for it. A refused item changes
    nothing. One transaction (a savepoint inside the caller's) and a fixed number of statements,
    whatever the chunk's size (at most CHUNK_MAX items)."""
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
    """An order of the chunk as its lock read it."""

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


def _chunk(items: list[tuple[int, int, Any, str]], actor: Actor) -> list[int | Refused]:
    found = _orders_lock(sorted({order_id for _, order_id, _, _ in items}))
    current = _reviews_of(found)
    # Every training an item might rate, locked before the chunk's time is read: a review of one
    # of them committed before is then older than the chunk's reviews.
    _trainings_lock(
        {
            row.training_id
            for participant_id, order_id, _, _ in items
            if (row := found.get(order_id)) is not None
            and row.participant_id == participant_id
            and row.status == OrderStatus.COMPLETED
        }
    )
    now = clock.now()

    answers: list[int | Refused | None] = [None] * len(items)
    answer_order: dict[int, int] = {}  # item index -> the order whose review it answers with
    late_locked: list[tuple[int, int, int]] = []  # index, order id, edit days: locked in-chunk
    ratings: dict[int, list[int]] = {}  # training id -> [count delta, sum delta]
    touched: set[str] = set()  # text hashes whose reviews' identical-text flags may change
    locks: set[str] = set()
    created_participants: set[int] = set()
    created_trainings: set[int] = set()
    events: list[tuple[str, int, dict[str, Any]]] = []  # event type, order id, details
    moves: list[TextMove] = []  # the texts the items gave reviews, in the items' order

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
        refusal = review_refusal(stars, text, row.min_chars)
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
            moves.append(TextMove(participant_id, order_id, hash_, created=True))
            details = {"order_id": order_id, "training_id": row.training_id, "stars": stars}
            events.append(("review.submitted", order_id, details))
            continue
        if review.stars == stars and review.text == text:
            continue  # the same review again: nothing to change
        ratings.setdefault(row.training_id, [0, 0])[1] += stars - review.stars
        locks.update((review.text_hash, hash_))
        if hash_ != review.text_hash:
            touched.update((review.text_hash, hash_))
            moves.append(TextMove(participant_id, order_id, hash_, created=False))
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
    review_flags.texts_lock(locks)
    # Before the chunk's writes: what the grant must see of each participant's flags.
    certified = {pk for pk, row in found.items() if row.certified}
    flagged_at_grant, restore = review_flags.identical_text_flags_at_grant(
        moves, touched, created_participants, certified
    )
    _reviews_insert(current, found, now)
    _reviews_update(current, now)
    review_flags.identical_text_flags_set(touched)
    review_flags.burst_flags_set(created_trainings, now)
    audit_record_many(
        occurred_at=now,
        events=[
            AuditNew(actor, kind, REVIEW_LABEL, str(current[order].pk), details)
            for kind, order, details in events
        ],
    )
    if created_participants:
        review_flags.identical_text_flags_put(flagged_at_grant)
        _entitlements_grant(sorted(created_participants), actor)
        review_flags.identical_text_flags_set(restore)

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


def _locked(order_id: int, review_id: int, days: int) -> ReviewLocked:
    return ReviewLocked(details={"order_id": order_id, "review_id": review_id}, days=days)


# --- statements -----------------------------------------------------------------------------------


def _orders_lock(order_ids: list[int]) -> dict[int, _Found]:
    """The chunk's orders locked in id order, with their participant's scheme rules: one
    statement."""
    ids = [pk for pk in order_ids if isinstance(pk, int) and not isinstance(pk, bool)]
    if not ids:
        return {}
    rows = (
        Order.objects.select_for_update(of=("self",))
        .filter(pk__in=among(ids))
        .order_by("pk")
        .values_list(
            "pk",
            "participant_id",
            "training_id",
            "status",
            "certificate_number",
            "participant__scheme__review_min_chars",
            "participant__scheme__review_edit_days",
        )
    )
    return {
        pk: _Found(
            participant, training, status, status == OrderStatus.COMPLETED and number != "", *rules
        )
        for pk, participant, training, status, number, *rules in rows
    }


def _reviews_of(found: dict[int, _Found]) -> dict[int, _Current]:
    """The reviews of the locked orders, read by a statement of its own once the locks are held:
    on PostgreSQL it sees the review another transaction wrote for one of them while this one
    waited for the lock (read with the lock, it would not, and a second creation would fail)."""
    if not found:
        return {}
    rows = Review.objects.filter(order_id__in=among(sorted(found))).values_list(
        "order_id", "pk", "stars", "text", "text_hash", "created_at"
    )
    return {
        order_id: _Current(pk, stars, text, hash_, at, stored=True)
        for order_id, pk, stars, text, hash_, at in rows
    }


def _trainings_lock(training_ids: set[int]) -> None:
    """The trainings' rows locked in id order (PostgreSQL; SQLite has one writer at a time)."""
    if not training_ids or connection.vendor != "postgresql":
        return
    sql, params = id_list(sorted(training_ids))
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


def _entitlements_grant(participant_ids: list[int], actor: Actor) -> None:
    """The incentives of the participants whose review is new, for those for whom it was the last
    condition missing."""
    # A signal: incentives depends on orders, not the other way round (incentives/apps.py).
    reviews_created.send(sender=None, participant_ids=participant_ids, actor=actor)
