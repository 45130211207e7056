from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import TextChoices

from prakerja.common import clock
from prakerja.common.errors import NotFound
from prakerja.common.timeutil import WIB
from prakerja.waves.models import ProgramScheme

if TYPE_CHECKING:
    from prakerja.waves.models import Participant, Wave, WaveApplication


class NoActiveScheme(NotFound):
    code = "NO_ACTIVE_SCHEME"
    message_id = "Belum ada skema program yang aktif. Hubungi admin program."
    message_en = "No program scheme is active. Ask a program administrator to activate one."


def scheme_active() -> ProgramScheme:
    scheme = ProgramScheme.objects.filter(is_active=True).first()
    if scheme is None:
        raise NoActiveScheme()
    return scheme


def wave_open() -> "Wave | None":
    from prakerja.waves.models import Wave, WaveStatus

    return Wave.objects.filter(status=WaveStatus.OPEN).select_related("scheme").first()


def registrant_applications(registrant_id: int) -> list["WaveApplication"]:
    from prakerja.waves.models import WaveApplication

    return list(
        WaveApplication.objects.filter(registrant_id=registrant_id)
        .select_related("wave")
        .order_by("-wave__number")
    )


@dataclass(frozen=True)
class ParticipantCard:
    """What a participant sees of membership: card, balance, deadline and standing."""

    participant: "Participant"
    balance_idr: int
    # Calendar days (WIB) from today to the deadline's day: 0 on the last day. None when the
    # countdown does not apply: a first training was bought, membership is revoked, or time is up.
    days_left: int | None
    window_over: bool  # active, nothing bought, deadline passed: revocation is next


def participant_card(registrant_id: int) -> ParticipantCard | None:
    from prakerja.ledger.models import AccountKind
    from prakerja.ledger.selectors import account_balance
    from prakerja.waves.models import Participant, ParticipantStatus

    participant = (
        Participant.objects.filter(registrant_id=registrant_id)
        .select_related("wave", "scheme")
        .first()
    )
    if participant is None:
        return None
    balance = account_balance(kind=AccountKind.TRAINING_BALANCE, owner_id=participant.pk)
    waiting = (
        participant.status == ParticipantStatus.ACTIVE and participant.first_purchase_at is None
    )
    over = waiting and clock.now() > participant.purchase_deadline
    days_left = None
    if waiting and not over:
        last_day = participant.purchase_deadline.astimezone(WIB).date()
        days_left = (last_day - clock.today()).days
    return ParticipantCard(
        participant=participant, balance_idr=balance, days_left=days_left, window_over=over
    )


class Result(TextChoices):
    WAITING = "waiting", "Waiting for the draw"
    SELECTED = "selected", "Selected"
    NOT_SELECTED = "not_selected", "Not selected"
    INELIGIBLE = "ineligible", "Not eligible at the draw"
    WAVE_CANCELLED = "cancelled", "Wave cancelled"


def application_result(application: "WaveApplication") -> str:
    """The result a person sees for one application. The draw writes only the selected and the
    ineligible it met; a pending application of a drawn wave was not selected."""
    from prakerja.waves.models import ApplicationOutcome, WaveStatus

    if application.outcome == ApplicationOutcome.SELECTED:
        return Result.SELECTED
    if application.outcome == ApplicationOutcome.INELIGIBLE:
        return Result.INELIGIBLE
    status = application.wave.status
    if status in (WaveStatus.SELECTED, WaveStatus.ANNOUNCED):
        return Result.NOT_SELECTED
    if status == WaveStatus.CANCELLED:
        return Result.WAVE_CANCELLED
    return Result.WAITING
