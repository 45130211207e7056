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

Both checks run in the transaction that writes the review, after the training's rating row was
updated (orders.reviews): on PostgreSQL that UPDATE holds the training's row lock, so concurrent
reviews of one training are counted one after the other; identical texts are serialised by a
transaction-level advisory lock on the text's hash (two new reviews of the same text at once would
otherwise each miss the other). SQLite runs one writer at a time.
"""

import datetime

from django.db import connection
from django.db.models import Q

from prakerja.orders.models import Review

BURST_REVIEWS = 20
BURST_WINDOW = datetime.timedelta(minutes=10)

# The first key of pg_advisory_xact_lock(int, int) for review texts ("RVTX"), so these locks never
# meet another use of advisory locks.
_ADVISORY_CLASS = int.from_bytes(b"RVTX", "big", signed=True)


def texts_lock(hashes: set[str]) -> None:
    """Serialise, until the transaction ends, the writers of reviews with these text hashes
    (PostgreSQL; in a fixed order so two writers never wait on each other)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for text_hash in sorted(hashes):
            key = int.from_bytes(bytes.fromhex(text_hash[:8]), "big", signed=True)
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_ADVISORY_CLASS, key])


def identical_text_flags_spread(*, review: Review, previous_hash: str = "") -> None:
    """After `review` was saved with its (new) text: flag every review of its text if another
    participant wrote it too, else clear its own flag; and when an edit changed the text away
    from `previous_hash`, clear the flags of that text's reviews unless two participants still
    share it. Bulk UPDATEs; the caller holds texts_lock for both hashes."""
    same_text = Review.objects.filter(text_hash=review.text_hash)
    if same_text.exclude(participant_id=review.participant_id).exists():
        same_text.filter(flag_identical_text=False).update(flag_identical_text=True)
    else:
        Review.objects.filter(pk=review.pk, flag_identical_text=True).update(
            flag_identical_text=False
        )
    if previous_hash and previous_hash != review.text_hash:
        before = Review.objects.filter(text_hash=previous_hash)
        if before.values("participant_id").distinct().count() < 2:
            before.filter(flag_identical_text=True).update(flag_identical_text=False)


def burst_flags_set(*, training_id: int, at: datetime.datetime) -> int:
    """After a new review of the training written at `at`: when more than BURST_REVIEWS reviews of
    it were written in the BURST_WINDOW up to `at`, flag them all. Returns the number newly flagged.

    Checking the window that ends at each new review finds every burst: any BURST_WINDOW holding
    more than BURST_REVIEWS reviews contains them all by the time its last one is written."""
    window = Review.objects.filter(
        Q(created_at__gt=at - BURST_WINDOW) & Q(created_at__lte=at), training_id=training_id
    )
    if window.count() <= BURST_REVIEWS:
        return 0
    return window.filter(flag_burst=False).update(flag_burst=True)
