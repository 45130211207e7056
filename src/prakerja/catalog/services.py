"""The catalog's writes: trainings published and withdrawn by digital platforms through the partner
API, and curated by the PMO (program.md §4, §7; partner-api.md, "Digital platforms").

A training's status changes only through TRANSITIONS. A platform's changes of price or content send
an active or rejected training back to review; the PMO approves, rejects, suspends and reinstates.
Every change of status is audited and queued for the platform as `training.status_changed`.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction

from prakerja.audit.services import audit_record, audit_row
from prakerja.catalog import flags, publish_sql
from prakerja.catalog.models import Institution, Training, TrainingStatus
from prakerja.catalog.training_data import (
    EXTERNAL_ID_MAX,
    REASON_MAX,
    TrainingData,
    training_data_validate,
)
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.errors import Conflict, NotFound, ValidationFailed
from prakerja.common.transitions import status_move
from prakerja.partners.errors import PartnerKindNotAllowed
from prakerja.partners.models import Partner, PartnerKind
from prakerja.partners.outbox import event_publish


class TrainingNotFound(NotFound):
    code = "TRAINING_NOT_FOUND"
    message_id = "Pelatihan dengan external_id ini tidak ditemukan pada platform Anda."
    message_en = "There is no training with this external_id on your platform."


class TrainingTransitionRefused(Conflict):
    code = "TRAINING_TRANSITION_REFUSED"
    message_id = "Keputusan {decision} tidak berlaku untuk pelatihan berstatus {current}."
    message_en = "A training that is {current} cannot be given the decision {decision}."


# --- the one table of status changes ------------------------------------------------------------

TRANSITIONS: dict[str, set[str]] = {
    TrainingStatus.PENDING_REVIEW: {
        TrainingStatus.ACTIVE,
        TrainingStatus.REJECTED,
        TrainingStatus.WITHDRAWN,
    },
    TrainingStatus.ACTIVE: {
        TrainingStatus.SUSPENDED,
        TrainingStatus.PENDING_REVIEW,  # the platform changed price or content
        TrainingStatus.WITHDRAWN,
    },
    TrainingStatus.REJECTED: {TrainingStatus.PENDING_REVIEW, TrainingStatus.WITHDRAWN},
    TrainingStatus.SUSPENDED: {TrainingStatus.ACTIVE, TrainingStatus.WITHDRAWN},
    TrainingStatus.WITHDRAWN: {TrainingStatus.PENDING_REVIEW},  # published again
}


@dataclass(frozen=True)
class Decision:
    """A PMO curation decision: the status it applies to, the status it gives, and whether the
    PMO must say why (the reason is shown to the platform)."""

    source: str
    target: str
    needs_reason: bool
    cause: str  # the `cause` of the training.status_changed event


DECISIONS: dict[str, Decision] = {
    "approve": Decision(TrainingStatus.PENDING_REVIEW, TrainingStatus.ACTIVE, False, "approved"),
    "reject": Decision(TrainingStatus.PENDING_REVIEW, TrainingStatus.REJECTED, True, "rejected"),
    "suspend": Decision(TrainingStatus.ACTIVE, TrainingStatus.SUSPENDED, True, "suspended"),
    "reinstate": Decision(TrainingStatus.SUSPENDED, TrainingStatus.ACTIVE, False, "reinstated"),
}


def _move(training: Training, target: str, *, cause: str, reason: str = "") -> str:
    """Change a locked training's status by the table and queue the event; returns the status it
    had. The caller saves the training and writes the audit event, in the same transaction."""
    before = status_move(
        training,
        target,
        table=TRANSITIONS,
        refused=lambda current: TrainingTransitionRefused(
            details={"training_id": training.pk, "from": current, "to": target},
            current=current,
            decision=cause,
        ),
    )
    training.status_reason = reason
    event_publish(
        partner_id=training.platform_id,
        event_type="training.status_changed",
        subject=f"training:{training.pk}",
        data={
            "training_id": training.pk,
            "external_id": training.external_id,
            "status": target,
            "previous_status": before,
            "cause": cause,
            "reason": reason,
        },
    )
    return before


def _platform_only(platform: Partner) -> None:
    if platform.kind != PartnerKind.PLATFORM:
        raise PartnerKindNotAllowed(
            details={"kind": platform.kind, "required": PartnerKind.PLATFORM},
            kind=PartnerKind.PLATFORM,
        )


def _external_id_check(external_id: str) -> None:
    if not external_id or not external_id.strip():
        raise ValidationFailed(details={"external_id": "REQUIRED"})
    if len(external_id) > EXTERNAL_ID_MAX:
        raise ValidationFailed(details={"external_id": "TOO_LONG"})


def _locked_training(platform: Partner, external_id: str) -> Training | None:
    # The training's row only: an upsert locks the body's institution before it (one order of
    # locks for all upserts; a join lock would take the training's institution after it).
    return (
        Training.objects.select_for_update(of=("self",))
        .select_related("institution")
        .filter(platform=platform, external_id=external_id)
        .first()
    )


# --- institutions ---------------------------------------------------------------------------------


def _institution_locked(
    *, platform: Partner, data: TrainingData, external_id: str, actor: Actor
) -> tuple[Institution, bool]:
    """The platform's institution of the body, locked (created when new), and whether the platform
    may have a training `external_id` already (False: it had none a moment ago). Locked before the
    training, and changed only after the training's old text was read."""
    row = publish_sql.institution_locked(
        platform_id=platform.pk,
        institution_external_id=data.institution_external_id,
        training_external_id=external_id,
    )
    if row is None:
        return _institution_create(platform=platform, data=data, actor=actor), True
    pk, name, owned_by_platform, training_exists = row
    found = Institution.from_db(  # created_at deferred: read if ever asked for
        connection.alias,
        ["id", "platform_id", "external_id", "name", "owned_by_platform"],
        [pk, platform.pk, data.institution_external_id, name, owned_by_platform],
    )
    return found, training_exists


def _institution_create(*, platform: Partner, data: TrainingData, actor: Actor) -> Institution:
    try:
        with transaction.atomic():
            institution = Institution.objects.create(
                platform=platform,
                external_id=data.institution_external_id,
                name=data.institution_name,
                owned_by_platform=data.owned_by_platform,
            )
    except IntegrityError:  # another call of the platform created it a moment ago
        return Institution.objects.select_for_update().get(
            platform=platform, external_id=data.institution_external_id
        )
    audit_record(
        actor=actor,
        event_type="institution.created",
        subject=institution,
        details={
            "external_id": institution.external_id,
            "name": institution.name,
            "owned_by_platform": institution.owned_by_platform,
        },
    )
    return institution


def _institution_update(found: Institution, *, data: TrainingData, actor: Actor) -> None:
    """Give a locked institution the name and ownership of the body, if they differ."""
    changed: dict[str, list[Any]] = {}
    if found.name != data.institution_name:
        changed["name"] = [found.name, data.institution_name]
        found.name = data.institution_name
    if found.owned_by_platform != data.owned_by_platform:
        changed["owned_by_platform"] = [found.owned_by_platform, data.owned_by_platform]
        found.owned_by_platform = data.owned_by_platform
    if changed:
        found.save(update_fields=["name", "owned_by_platform"])
        audit_record(actor=actor, event_type="institution.updated", subject=found, details=changed)


# --- trainings: what platforms do -----------------------------------------------------------------


def training_upsert(
    *, platform: Partner, external_id: str, data: Mapping[str, Any], actor: Actor
) -> tuple[Training, bool]:
    """Publish or change the platform's training `external_id`; returns it and whether it is new.

    New trainings await review. A change of price or content sends an active or rejected training
    back to review (a pending one stays pending, a suspended one stays suspended until the PMO
    reinstates it); a withdrawn training published again goes back to review; an identical body
    changes nothing. Another platform's training of the same external_id is a different training.
    """
    _platform_only(platform)
    _external_id_check(external_id)
    clean = training_data_validate(data)
    put = _Submission(
        platform=platform,
        external_id=external_id,
        clean=clean,
        digest=clean.content_hash(),
        price_flag=flags.price_above_outside(
            price_idr=clean.price_idr, price_outside_program_idr=clean.price_outside_program_idr
        ),
        text=flags.Text(clean.category, clean.institution_name, clean.title, clean.description),
        now=clock.now(),
    )
    # No savepoint of its own: the partner API runs this in the transaction of its idempotency key
    # (answer_once), which a refusal here rolls back whole.
    with transaction.atomic(savepoint=False):
        institution, known = _institution_locked(
            platform=platform, data=clean, external_id=external_id, actor=actor
        )
        training = _locked_training(platform, external_id) if known else None
        # Read before the institution changes: near-duplication compares its name too.
        before_text = flags.Text.of(training) if training is not None else None
        _institution_update(institution, data=clean, actor=actor)
        if training is None:
            created = _training_create(put, institution=institution, actor=actor)
            if created is not None:
                return created, True
            training = _locked_training(platform, external_id)  # a concurrent call created it
            assert training is not None
            before_text = flags.Text.of(training)
        assert before_text is not None
        _training_change(
            training=training,
            institution=institution,
            clean=clean,
            digest=put.digest,
            price_flag=put.price_flag,
            text=put.text,
            before_text=before_text,
            now=put.now,
            actor=actor,
        )
    return training, False


@dataclass(frozen=True)
class _Submission:
    """What a PUT gives a training, worked out before the transaction."""

    platform: Partner
    external_id: str
    clean: TrainingData
    digest: str
    price_flag: bool
    text: flags.Text
    now: datetime.datetime


def _training_create(
    put: _Submission, *, institution: Institution, actor: Actor
) -> Training | None:
    """Insert the training with its price flag and audit event; None when a concurrent call created
    it first. Its text is compared with the catalog by the near-duplicate check, seconds later
    (flags.near_duplicates_check_due), so the platform's call does not wait for it."""
    training = Training(
        platform=put.platform,
        external_id=put.external_id,
        institution=institution,
        **put.clean.reviewed(),
        status=TrainingStatus.PENDING_REVIEW,
        content_hash=put.digest,
        flag_price_above_outside=put.price_flag,
        near_duplicate_checked=False,
        created_at=put.now,
        updated_at=put.now,
    )
    audit = audit_row(
        actor=actor,
        event_type="training.created",
        subject_type=Training._meta.label_lower,
        subject_id="",  # the new id, given by the insert
        details={
            "external_id": training.external_id,
            "status": training.status,
            "price_idr": training.price_idr,
            "flag_price_above_outside": training.flag_price_above_outside,
            "near_duplicate_checked": False,
        },
    )
    if not publish_sql.training_insert(training, audit=audit):
        return None
    return training


def _training_change(
    *,
    training: Training,
    institution: Institution,
    clean: TrainingData,
    digest: str,
    price_flag: bool,
    text: flags.Text,
    before_text: flags.Text,
    now: datetime.datetime,
    actor: Actor,
) -> None:
    """Apply a PUT to an existing, locked training (nothing at all when the body is the same)."""
    withdrawn = training.status == TrainingStatus.WITHDRAWN
    if training.content_hash == digest and not withdrawn:
        return
    changed = [name for name, value in clean.reviewed().items() if getattr(training, name) != value]
    if training.institution_id != institution.pk:
        changed.append("institution")
    for name, value in clean.reviewed().items():
        setattr(training, name, value)
    training.institution = institution
    training.content_hash = digest
    training.updated_at = now
    training.flag_price_above_outside = price_flag

    before_status = training.status
    if withdrawn:
        _move(training, TrainingStatus.PENDING_REVIEW, cause="resubmitted")
    elif before_status in (TrainingStatus.ACTIVE, TrainingStatus.REJECTED):
        _move(training, TrainingStatus.PENDING_REVIEW, cause="content_changed")

    # Near-duplication is compared again when the words, the category or the institution changed,
    # or when the training comes back to the catalog.
    compare = withdrawn or text != before_text
    matches: set[int] = set()
    lost: set[int] = set()
    if compare:
        matches = flags.near_duplicates(text, exclude_id=training.pk)
        if not withdrawn:
            lost = flags.near_duplicates(before_text, exclude_id=training.pk)
        training.flag_near_duplicate = bool(matches)
        training.near_duplicate_checked = True
    training.save()
    if compare:
        flags.text_bands_store([training])
        flags.near_duplicate_flags_spread(matches=matches, lost=lost)
    audit_record(
        actor=actor,
        event_type="training.updated",
        subject=training,
        details={
            "changed": sorted(changed),
            "status": [before_status, training.status],
            "flag_price_above_outside": training.flag_price_above_outside,
            "flag_near_duplicate": training.flag_near_duplicate,
        },
    )


def training_withdraw(*, platform: Partner, external_id: str, actor: Actor) -> Training:
    """The platform takes its training out of the catalog (vouchers already issued stay valid).
    Withdrawing a withdrawn training changes nothing; another platform's is TRAINING_NOT_FOUND."""
    _platform_only(platform)
    with transaction.atomic():
        training = _locked_training(platform, external_id)
        if training is None:
            raise TrainingNotFound(details={"external_id": external_id})
        if training.status == TrainingStatus.WITHDRAWN:
            return training
        # The trainings it was a near-duplicate of are compared again without it.
        lost = flags.near_duplicates(flags.Text.of(training), exclude_id=training.pk)
        before = _move(training, TrainingStatus.WITHDRAWN, cause="withdrawn")
        training.updated_at = clock.now()
        training.save(update_fields=["status", "status_reason", "updated_at"])
        flags.near_duplicate_flags_spread(matches=(), lost=lost)
        audit_record(
            actor=actor,
            event_type="training.withdrawn",
            subject=training,
            details={"external_id": external_id, "from": before},
        )
    return training


# --- trainings: what the PMO does -----------------------------------------------------------------


def training_review(*, training: Training, decision: str, reason: str, actor: Actor) -> Training:
    """A PMO curation decision: approve or reject a training pending review, suspend an active one,
    reinstate a suspended one. Reject and suspend need a reason (the platform is told it)."""
    chosen = DECISIONS.get(decision)
    if chosen is None:
        raise ValidationFailed(details={"decision": "CHOICE_INVALID"})
    reason = (reason or "").strip()
    if chosen.needs_reason and not reason:
        raise ValidationFailed(details={"reason": "REQUIRED"})
    if len(reason) > REASON_MAX:
        raise ValidationFailed(details={"reason": "TOO_LONG"})
    with transaction.atomic(durable=True):
        locked = Training.objects.select_for_update().get(pk=training.pk)
        if locked.status != chosen.source:
            raise TrainingTransitionRefused(
                details={"training_id": locked.pk, "status": locked.status, "decision": decision},
                current=locked.status,
                decision=decision,
            )
        before = _move(locked, chosen.target, cause=chosen.cause, reason=reason)
        locked.updated_at = clock.now()
        locked.save(update_fields=["status", "status_reason", "updated_at"])
        audit_record(
            actor=actor,
            event_type="training.reviewed",
            subject=locked,
            details={
                "decision": decision,
                "from": before,
                "to": locked.status,
                "reason": reason,
            },
        )
    return locked
