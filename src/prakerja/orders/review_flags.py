"""Suspicious review patterns (program.md §7: "suspicious review patterns (identical texts,
bursts) are flagged"). Like the catalog's curation flags, they are facts the PMO sees in the
provider evaluation, never decisions: a flagged review is still shown and still counts.

* **Identical text across accounts** (`Review.flag_identical_text`): a review whose normalised text
  (orders.reviews.text_hash: case, accents, punctuation and spacing ignored) is also the text of a
  review by *another participant*. Every review of such a text is flagged; one participant
  repeating their own words on two orders is not. An edit that makes a text unique again clears the
  flags that no longer hold, as the near-duplicate flags of trainings do
  (catalog.flags.near_duplicate_flags_spread).
* **Bursts** (`Review.flag_burst`): more than BURST_REVIEWS new reviews of one training within
  BURST_WINDOW. Every review of that training in the window is flagged.

Why 20 in 10 minutes: a review follows a completion, which each participant reaches at their own
pace. In 2020 about 2 million completions spread over some 240 days and ~2.700 trainings: about
3 per training a day on average; even a training with 2 % of all completions (a very large share)
gets ~170 a day, about 1 per 10 minutes, a few at the busiest hour. Twenty in ten minutes is several
times that busiest organic pace, so it points at coordinated reviewing (paid or scripted accounts);
a webinar cohort finishing together can also reach it, which is why it is a flag for a person to
look at and not a refusal.

Both flags are set for a chunk of reviews at once (orders/review_bulk.py; review_submit is its chunk
of one), in the transaction that writes them, after the trainings' rows were locked: on PostgreSQL
concurrent reviews of one training are then counted one after the other; identical texts are
serialised by a transaction-level advisory lock on each text's hash (two new reviews of the same
text at once would otherwise each miss the other). SQLite runs one writer at a time.
"""

import datetime
import json
from dataclasses import dataclass

from django.db import connection

from prakerja.common.bulk_sql import db_time, id_list, json_rows
from prakerja.orders.models import Order, OrderStatus, Review

BURST_REVIEWS = 20
BURST_WINDOW = datetime.timedelta(minutes=10)

REVIEWS = Review._meta.db_table
ORDERS = Order._meta.db_table

# The first key of pg_advisory_xact_lock(int, int) for review texts ("RVTX"), so these locks never
# meet another use of advisory locks.
_ADVISORY_CLASS = int.from_bytes(b"RVTX", "big", signed=True)


def texts_lock(hashes: set[str]) -> None:
    """Serialise, until the transaction ends, the writers of reviews with these text hashes
    (PostgreSQL), in one statement: the locks taken in the order of the hashes, so two writers
    never wait on each other in a circle."""
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


def identical_text_flags_set(hashes: set[str]) -> None:
    """After reviews were written with, or edited away from, these texts (the caller holds
    texts_lock for them): a review of one of them is flagged exactly when two participants or
    more wrote its text, reviews already in the database included. One UPDATE."""
    if not hashes:
        return
    among, param = id_list(sorted(hashes), "text")
    with connection.cursor() as cursor:
        # The rows whose flag is not what it should be, toggled.
        cursor.execute(
            f"UPDATE {REVIEWS} SET flag_identical_text = NOT flag_identical_text "  # noqa: S608
            f"WHERE text_hash IN ({among}) AND flag_identical_text <> (text_hash IN ("
            f"SELECT s.text_hash FROM {REVIEWS} AS s WHERE s.text_hash IN ({among}) "
            "GROUP BY s.text_hash HAVING COUNT(DISTINCT s.participant_id) >= 2))",
            [*param, *param],
        )


def burst_flags_set(training_ids: set[int], now: datetime.datetime) -> None:
    """After new reviews of these trainings written at `now`: for each training with more than
    BURST_REVIEWS reviews in the BURST_WINDOW up to `now`, flag them all. One UPDATE.

    Checking the window that ends at each new review finds every burst: any BURST_WINDOW holding
    more than BURST_REVIEWS reviews contains them all by the time its last one is written."""
    if not training_ids:
        return
    among, param = id_list(sorted(training_ids))
    start, end = db_time(now - BURST_WINDOW), db_time(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {REVIEWS} SET flag_burst = %s WHERE flag_burst = %s "  # noqa: S608
            "AND created_at > %s AND created_at <= %s AND training_id IN ("
            f"SELECT w.training_id FROM {REVIEWS} AS w WHERE w.training_id IN ({among}) "
            "AND w.created_at > %s AND w.created_at <= %s GROUP BY w.training_id "
            "HAVING COUNT(*) > %s)",
            [True, False, start, end, *param, start, end, BURST_REVIEWS],
        )


# --- the flags an incentive grant sees --------------------------------------------------------------


@dataclass(frozen=True)
class TextMove:
    """An item that gave an order's review a text: a new review, or an edit to another text."""

    participant_id: int
    order_id: int
    text_hash: str
    created: bool


def identical_text_flags_at_grant(
    moves: list[TextMove], touched: set[str], participants: set[int], certified: set[int]
) -> tuple[dict[int, bool], set[str]]:
    """A review that completes a participant's conditions grants the incentives right then, held
    REVIEW_FLAGGED if one of the participant's reviews is flagged at that moment; a review later in
    a chunk with the same text flags it only afterwards (the first member of a review ring is
    granted unheld, the run holds it later). A chunk grants once, after all its writes: so this
    replays the items' texts (`moves`, in order), from the reviews of the chunk's texts and
    participants as they are before the chunk (one statement; `certified`: the chunk's orders
    completed with a certificate), and returns the participants whose flagged state at their
    grant differs from the chunk's end (participant -> flagged then), with the texts whose flags
    must be set again after the grant. With fewer than two moves no later move can change a
    flag after a grant: nothing to replay, no statement."""
    if not participants or len(moves) < 2:
        return {}, set()
    texts, text_param = id_list(sorted(touched), "text")
    people, people_param = id_list(sorted(participants))
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
    certified = set(certified)
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


def identical_text_flags_put(flagged: dict[int, bool]) -> None:
    """The identical-text flags of these participants' reviews set as they stood at each one's
    grant (put right after it by identical_text_flags_set)."""
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
