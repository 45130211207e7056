"""Bulk entry points of registration, for batch work (the national simulation, registrations taken
offline at a job centre): sign-up and the verification layers a chunk at a time, set-based — a few
statements per chunk instead of several per layer per person.

They decide by the rules the per-request services decide by (rules.py: both paths call the same
functions) and leave the same rows: the same field checks at sign-up (VALIDATION_FAILED naming each
field), the same handling of what another account holds (a NIK taken is kept unclaimed and fails
NIK_TAKEN once the email is proved; a phone taken is not kept and the phone layer asks for another,
PHONE_TAKEN; also against an earlier person of the same call: the first wins), the same layer
states, reasons and times, and for every layer change the VerificationStep and audit event that
`layers.layer_set` writes (same event type, subject and details). Transitions follow
`layers.ALLOWED`; a registrant in another state than the step expects is skipped, not refused, and
the guard sits in the UPDATE's WHERE so that two callers racing on one registrant cannot both move
it. Calling a step again changes nothing. tests/registration/test_one_rule_registration.py holds
each step on N registrants to N per-request calls.

What differs from the per-item path, on purpose:
- an email that already has an account is refused (common.refusals.Refused, EMAIL_TAKEN): a
  batch is the office's own work, so nothing needs hiding from its caller, and no sign-up is
  started over from a batch.
- nobody is sent anything: no email code at sign-up, no SMS when the phone layer opens. The caller
  verifies emails and phones in bulk (it stands for people who entered their codes).
- no password: the account gets an unusable one (these people sign in by one-time code), so no
  argon2 per sign-up; the password rule of sign-up does not apply.
- no tasks are queued: the caller runs `registry_check_bulk` after `emails_verify_bulk`, or asks
  `emails_verify_bulk` to write the registry's answer with the email (`registry=True`). The
  safety-net retry time `signup._email_passed` leaves is left too, so a registrant the caller
  never checks is picked up by the periodic sweep. Likewise `phones_verify_bulk` can take the
  selfie that `faces_check_bulk` would submit next (`selfie=`).
- the email and phone layers are recorded with the caller's `actor` (the per-item service records
  the participant); the registry, eligibility and face outcomes with the same system actors.
- the times of one chunk's changes are one instant.

Each chunk (≤ 1.000 registrants) is one transaction; calls to the population registry happen
outside transactions, before the chunk's writes, as they do per item. Rows travel to the database
as one JSON text per statement (common.bulk_sql).
"""

from collections.abc import Iterator, Sequence
from typing import Any

from django.db import transaction

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.refusals import Refused
from prakerja.registration.bulk_face import faces_ahead, faces_chunk
from prakerja.registration.bulk_phone import phones_chunk
from prakerja.registration.bulk_registry import emails_chunk, registry_answers, registry_chunk
from prakerja.registration.bulk_signup import sign_up_chunk
from prakerja.registration.layers import ALLOWED
from prakerja.registration.models import Layer, LayerStatus
from prakerja.registration.rules import SignUp, SignUpFields, stripped_image

P, OK, NO = LayerStatus.PENDING, LayerStatus.PASSED, LayerStatus.FAILED

CHUNK_MAX = 1_000  # registrants per transaction

# The one-statement moves of the bulk steps write several layers at once: the table must allow
# each.
assert (P, OK) in ALLOWED[Layer.EMAIL] and (P, P) in ALLOWED[Layer.NIK]
assert (P, OK) in ALLOWED[Layer.NIK] and (P, NO) in ALLOWED[Layer.NIK]
assert (P, P) in ALLOWED[Layer.PHONE] and (P, OK) in ALLOWED[Layer.PHONE]
assert (P, P) in ALLOWED[Layer.FACE] and {(P, OK), (P, NO), (NO, P)} <= ALLOWED[Layer.FACE]


BulkSignUp = SignUpFields  # the batch path's people: no password (they sign in by one-time code)


def _chunks(items: Sequence[Any]) -> Iterator[tuple[int, list[Any]]]:
    """The items a chunk at a time, each with its first item's index in the call."""
    for start in range(0, len(items), CHUNK_MAX):
        yield start, list(items[start : start + CHUNK_MAX])


def registrants_sign_up_bulk(*, people: Sequence[BulkSignUp], actor: Actor) -> list[int | Refused]:
    """`registrant_sign_up` for many people: per person (in the order given) the new registrant's
    id, or Refused (with the person's index in `people`) with the ValidationFailed the per-item
    service raises. Accounts are created with every layer pending, the NIK encrypted and indexed,
    and an unusable password; no code is sent. `actor` is the batch's: the per-item sign-up records
    no audit event, and neither does this."""
    del actor  # kept for the services' convention; sign-up writes no audit event to name it in
    result: list[int | Refused] = []
    for start, chunk in _chunks(people):
        # No password: these people sign in by one-time code (rules.sign_up_checked skips its rule).
        data = [SignUp(password="", **person.fields()) for person in chunk]
        result.extend(sign_up_chunk(data, start))
    return result


def emails_verify_bulk(
    *, registrant_ids: Sequence[int], actor: Actor, registry: bool = False
) -> int:
    """`signup._email_passed` for many: the email layer of those whose email is pending passes and
    their NIK layer waits on the registry (REGISTRY_CHECKING, with the sweep's safety-net retry
    time). Returns how many registrants changed.

    Without `registry` the registry is not asked: the caller runs `registry_check_bulk`. With it,
    each NIK is looked up before the chunk's transaction and the answer written with the email, in
    the same statement, as `registrant_registry_check` would write it had the check run at once
    (the same steps and events: NIK pending, then passed or failed); a NIK the registry does not
    answer waits as without, for `registry_check_bulk` or the sweep. One new row version per
    registrant instead of two: at national scale each costs an entry in every index."""
    changed = 0
    for _, chunk in _chunks(registrant_ids):
        answers = registry_answers(chunk) if registry else {}
        with transaction.atomic():
            changed += emails_chunk(chunk, answers, actor, clock.now())
    return changed


def registry_check_bulk(*, registrant_ids: Sequence[int]) -> int:
    """`registrant_registry_check` for many: for each registrant whose NIK layer waits on the
    registry, the registry's record decides it (rules.nik_verdict: NIK_NOT_FOUND, DECEASED,
    NAME_MISMATCH, BIRTH_DATE_MISMATCH; passing records the family card and opens the phone layer,
    without sending the SMS). A face check left waiting by an outage is finished with its stored
    selfie (rules.face_verdict). While the registry is down the layer stays pending with the retry
    time of rules.registry_retry_wait. Returns how many registrants had a layer change state."""
    changed = 0
    for _, chunk in _chunks(registrant_ids):
        changed += registry_chunk(chunk)
    return changed


def phones_verify_bulk(
    *, registrant_ids: Sequence[int], actor: Actor, selfie: bytes | None = None
) -> int:
    """`phone_verify_code` for many (the codes taken as entered): the phone layer of those awaiting
    their code passes, then eligibility is decided (rules.eligibility_verdict: UNDER_AGE,
    IN_SCHOOL, EXCLUDED with the lists' categories) and passing opens the face check
    (AWAITING_SELFIE). Returns how many registrants changed.

    With a `selfie`, those whose face check opens submit it at once: the registry compares it
    before the chunk's transaction and the verdict is written with the phone, in the same
    statement, as `faces_check_bulk` would write it (the same steps and events); one whose
    comparison the registry does not answer is left awaiting the selfie, for `faces_check_bulk`.
    An image `faces_check_bulk` refuses is refused here too (SELFIE_INVALID), before any change."""
    clean = stripped_image(selfie) if selfie is not None else None
    changed = 0
    for _, chunk in _chunks(registrant_ids):
        faces = faces_ahead(chunk, clean) if clean is not None else {}
        with transaction.atomic():
            changed += phones_chunk(chunk, actor, faces)
    return changed


def faces_check_bulk(*, registrant_ids: Sequence[int], image: bytes) -> int:
    """`face_submit` and the registry's face check for many, with one selfie for all: for those
    whose face layer awaits a selfie (or failed FACE_MISMATCH: a retry), the registry compares it
    with the NIK's photo and the layer passes or fails FACE_MISMATCH with the score. The selfie is
    not kept; while the registry is down it is stored and the layer waits with a retry time, as
    per item (`registry_check_bulk` or the periodic sweep finishes it). An image that is not a JPEG
    or PNG of at most 5 MB is refused (SELFIE_INVALID) and changes nothing. Returns how many
    registrants changed."""
    clean = stripped_image(image)
    changed = 0
    for _, chunk in _chunks(registrant_ids):
        changed += faces_chunk(chunk, clean)
    return changed
