import datetime
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from prakerja.audit.services import audit_record
from prakerja.common.actors import Actor
from prakerja.common.errors import Conflict, ValidationFailed
from prakerja.common.refusals import Refused
from prakerja.common.transitions import status_move
from prakerja.registration.models import LayerStatus
from prakerja.waves.models import (
    ProgramScheme,
    Verification,
    Wave,
    WaveApplication,
    WaveStatus,
)

if TYPE_CHECKING:
    from prakerja.registration.models import Registrant


def scheme_save(*, scheme: ProgramScheme, actor: Actor) -> ProgramScheme:
    """Save a scheme edited by an operator, audited with its before and after values. Activating it
    deactivates the one active before, in the same transaction."""
    with transaction.atomic():
        before = (
            model_to_dict(ProgramScheme.objects.get(pk=scheme.pk)) if scheme.pk is not None else {}
        )
        if scheme.is_active:
            ProgramScheme.objects.filter(is_active=True).exclude(pk=scheme.pk).update(
                is_active=False
            )
        scheme.full_clean()
        scheme.save()
        after = model_to_dict(scheme)
        changes = {
            field: [_plain(before.get(field)), _plain(value)]
            for field, value in after.items()
            if before.get(field) != value
        }
        audit_record(
            actor=actor,
            event_type="scheme.created" if not before else "scheme.changed",
            subject=scheme,
            details={"changes": changes},
        )
    return scheme


def _plain(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value


# --- waves ---------------------------------------------------------------------------------------

# The one table of wave status changes (program.md §3). Nothing else assigns a wave's status.
TRANSITIONS: dict[str, set[str]] = {
    WaveStatus.DRAFT: {WaveStatus.OPEN, WaveStatus.POSTPONED, WaveStatus.CANCELLED},
    WaveStatus.OPEN: {WaveStatus.CLOSED, WaveStatus.POSTPONED, WaveStatus.CANCELLED},
    WaveStatus.CLOSED: {WaveStatus.SELECTED, WaveStatus.POSTPONED, WaveStatus.CANCELLED},
    WaveStatus.SELECTED: {WaveStatus.ANNOUNCED},
    WaveStatus.POSTPONED: {WaveStatus.OPEN, WaveStatus.CANCELLED},
    WaveStatus.ANNOUNCED: set(),
    WaveStatus.CANCELLED: set(),
}


class WaveTransitionRefused(Conflict):
    code = "WAVE_TRANSITION_REFUSED"
    message_id = "Gelombang dengan status {current} tidak dapat diubah menjadi {target}."
    message_en = "A wave that is {current} cannot become {target}."


class WaveNotCredited(Conflict):
    code = "WAVE_NOT_CREDITED"
    message_id = "Saldo peserta gelombang ini belum selesai dikreditkan; jalankan seleksi lagi."
    message_en = "This wave's balances are not all credited yet; run the selection again."


class WaveNotOpen(Conflict):
    code = "WAVE_NOT_OPEN"
    message_id = "Pendaftaran gelombang ini sedang tidak dibuka."
    message_en = "This wave is not open for applications."


class AlreadyApplied(Conflict):
    code = "ALREADY_APPLIED"
    message_id = "Anda sudah mendaftar di gelombang ini."
    message_en = "You have already applied to this wave."


class AlreadyParticipant(Conflict):
    code = "ALREADY_PARTICIPANT"
    message_id = (
        "Anda sudah menjadi peserta Kartu Prakerja; setiap NIK hanya sekali menjadi peserta."
    )
    message_en = "You are already a Kartu Prakerja participant; each NIK can be one only once."


class NotVerified(Conflict):
    code = "NOT_VERIFIED"
    message_id = "Selesaikan semua tahap verifikasi sebelum ikut gelombang."
    message_en = "Finish every verification step before joining a wave."


def _move(wave: Wave, target: str, *, actor: Actor, details: dict | None = None) -> None:
    before = status_move(
        wave,
        target,
        table=TRANSITIONS,
        refused=lambda current: WaveTransitionRefused(
            details={"wave": wave.number, "from": current, "to": target},
            current=current,
            target=target,
        ),
    )
    wave.save()
    audit_record(
        actor=actor,
        event_type=f"wave.{target}",
        subject=wave,
        details={"from": before, **(details or {})},
    )


def wave_create(
    *,
    quota: int,
    opens_at: datetime.datetime,
    closes_at: datetime.datetime,
    actor: Actor,
    province_quotas: dict[str, int] | None = None,
    priority_order: list[str] | None = None,
    verification: str = Verification.FACE,
    scheme: ProgramScheme | None = None,
) -> Wave:
    """A draft wave with the next number. Refused settings are named field by field."""
    from prakerja.registration.regions import region
    from prakerja.waves.priorities import priority_groups_known
    from prakerja.waves.selectors import scheme_active

    province_quotas = province_quotas or {}
    priority_order = priority_order or []
    problems: dict[str, object] = {}
    if quota < 1:
        problems["quota"] = "QUOTA_INVALID"
    if closes_at <= opens_at:
        problems["closes_at"] = "CLOSES_BEFORE_OPENS"
    bad_provinces = [
        c for c in province_quotas if (r := region(c)) is None or r.level != "province"
    ]
    counts = [n for n in province_quotas.values() if isinstance(n, int) and not isinstance(n, bool)]
    if bad_provinces or len(counts) != len(province_quotas) or any(n < 1 for n in counts):
        problems["province_quotas"] = "PROVINCE_QUOTA_INVALID"
    elif sum(counts) > quota:
        problems["province_quotas"] = "PROVINCE_QUOTAS_EXCEED_QUOTA"
    known = priority_groups_known()
    if any(g not in known for g in priority_order) or len(set(priority_order)) != len(
        priority_order
    ):
        problems["priority_order"] = "PRIORITY_GROUP_UNKNOWN"
    if verification not in Verification.values:
        problems["verification"] = "CHOICE_INVALID"
    if problems:
        raise ValidationFailed(details=problems)
    with transaction.atomic(durable=True):
        last = Wave.objects.select_for_update().order_by("-number").values_list("number", flat=True)
        wave = Wave.objects.create(
            number=(last.first() or 0) + 1,
            scheme=scheme or scheme_active(),
            quota=quota,
            opens_at=opens_at,
            closes_at=closes_at,
            province_quotas={k: int(v) for k, v in province_quotas.items()},
            priority_order=priority_order,
            verification=verification,
        )
        audit_record(
            actor=actor,
            event_type="wave.created",
            subject=wave,
            details={
                "quota": quota,
                "province_quotas": wave.province_quotas,
                "priority_order": priority_order,
                "verification": verification,
            },
        )
    return wave


def wave_open(*, wave: Wave, seed_commitment: str, actor: Actor) -> Wave:
    """Open for applications. The lottery seed's SHA-256 commitment is published now, before
    anyone applies, so the seed revealed after closing cannot have been chosen to favour anyone."""
    if not re.fullmatch(r"[0-9a-f]{64}", seed_commitment):
        raise ValidationFailed(details={"seed_commitment": "SHA256_HEX_REQUIRED"})
    try:
        with transaction.atomic(durable=True):
            wave = Wave.objects.select_for_update().get(pk=wave.pk)
            wave.seed_commitment = seed_commitment
            _move(wave, WaveStatus.OPEN, actor=actor, details={"commitment": seed_commitment})
            _queue_carry_over(wave)
    except IntegrityError:
        raise Conflict(details={"wave": "ANOTHER_WAVE_IS_OPEN"}) from None
    return wave


def _queue_carry_over(wave: Wave) -> None:
    from prakerja.waves.tasks import wave_carry_over_task

    wave_id = wave.pk
    transaction.on_commit(lambda: wave_carry_over_task.delay(wave_id), robust=True)


def wave_announce(*, wave: Wave, actor: Actor) -> Wave:
    """Publish a drawn and fully credited wave: its inputs and result become public."""
    with transaction.atomic(durable=True):
        wave = Wave.objects.select_for_update().get(pk=wave.pk)
        if wave.status == WaveStatus.SELECTED and wave.credited_at is None:
            raise WaveNotCredited(details={"wave": wave.number})
        _move(wave, WaveStatus.ANNOUNCED, actor=actor)
    return wave


def wave_close(*, wave: Wave, actor: Actor) -> Wave:
    with transaction.atomic(durable=True):
        wave = Wave.objects.select_for_update().get(pk=wave.pk)
        _move(wave, WaveStatus.CLOSED, actor=actor)
    return wave


def wave_postpone(
    *,
    wave: Wave,
    opens_at: datetime.datetime,
    closes_at: datetime.datetime,
    reason: str,
    actor: Actor,
) -> Wave:
    """New dates; everyone who applied keeps the application and is told (program.md §3: wave 4)."""
    if closes_at <= opens_at:
        raise ValidationFailed(details={"closes_at": "CLOSES_BEFORE_OPENS"})
    if not reason.strip():
        raise ValidationFailed(details={"reason": "REQUIRED"})
    with transaction.atomic(durable=True):
        wave = Wave.objects.select_for_update().get(pk=wave.pk)
        wave.opens_at, wave.closes_at = opens_at, closes_at
        _move(
            wave,
            WaveStatus.POSTPONED,
            actor=actor,
            details={
                "reason": reason,
                "opens_at": opens_at.isoformat(),
                "closes_at": closes_at.isoformat(),
            },
        )
        _queue_applicant_notice(wave, "postponed")
    return wave


def wave_cancel(*, wave: Wave, reason: str, actor: Actor) -> Wave:
    if not reason.strip():
        raise ValidationFailed(details={"reason": "REQUIRED"})
    with transaction.atomic(durable=True):
        wave = Wave.objects.select_for_update().get(pk=wave.pk)
        _move(wave, WaveStatus.CANCELLED, actor=actor, details={"reason": reason})
        _queue_applicant_notice(wave, "cancelled")
    return wave


def _queue_applicant_notice(wave: Wave, what: str) -> None:
    """Tell everyone who applied, through the outbox, in this transaction: set-based, so a wave of
    millions is one statement. Each postponement (new dates) is a new message."""
    from prakerja.notifications.services import notifications_queue_select

    notifications_queue_select(
        kind=f"wave_{what}",
        key=f"{wave.pk}:{wave.opens_at.isoformat()}" if what == "postponed" else str(wave.pk),
        source_sql=(
            f"SELECT registrant_id, wave_id AS subject_id FROM {WaveApplication._meta.db_table} "  # noqa: S608
            "WHERE wave_id = %s"
        ),
        params=[wave.pk],
    )


# The verification layers a wave requires, in the order NOT_VERIFIED names them.
LAYERS = ("email", "nik", "phone", "eligibility")
FACE_LAYERS = (*LAYERS, "face")


def layers_required(verification: str) -> tuple[str, ...]:
    return FACE_LAYERS if verification == Verification.FACE else LAYERS


def layers_missing(verification: str, statuses: Mapping[str, str]) -> list[str]:
    """The layers a wave of this `verification` requires that are not passed; `statuses` maps a
    layer to its status (a registrant's `<layer>_status`)."""
    return [
        layer for layer in layers_required(verification) if statuses[layer] != LayerStatus.PASSED
    ]


def layers_missing_for(wave: Wave, registrant: "Registrant") -> list[str]:
    """The verification layers `registrant` has not passed that `wave` requires."""
    return layers_missing(
        wave.verification,
        {layer: getattr(registrant, f"{layer}_status") for layer in FACE_LAYERS},
    )


def wave_join(*, wave: Wave, registrant: "Registrant", actor: Actor) -> WaveApplication:
    """Apply to the open wave: every verification layer passed (the face check only where the wave
    requires it), once per wave. The one-registrant case of `waves.join_bulk.wave_applications_join`,
    so the two cannot drift apart. Errors: WAVE_NOT_OPEN, ALREADY_PARTICIPANT, NOT_VERIFIED,
    ALREADY_APPLIED."""
    # Imported here: join_bulk uses this module's errors and layer rules.
    from prakerja.waves.join_bulk import wave_applications_join

    with transaction.atomic(durable=True):
        (answer,) = wave_applications_join(wave=wave, registrant_ids=[registrant.pk], actor=actor)
    if isinstance(answer, Refused):
        raise answer.error
    return WaveApplication.objects.get(pk=answer)
