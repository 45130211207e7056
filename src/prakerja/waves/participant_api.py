"""The participant API's waves: the open wave, joining it, the person's applications with their
results, and the Kartu Prakerja card once selected."""

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError
from prakerja.portal.api import NotAParticipant, refusals, utc
from prakerja.registration.api_tokens import BearerToken, me
from prakerja.waves.models import ParticipantStatus, Wave, WaveApplication
from prakerja.waves.selectors import (
    Result,
    application_result,
    participant_card,
    registrant_applications,
    wave_open,
)
from prakerja.waves.services import wave_join

router = Router()


class WaveOut(Schema):
    number: int
    status: str
    opens_at: datetime.datetime
    closes_at: datetime.datetime
    verification: str


class ApplicationOut(Schema):
    wave: int
    wave_status: str = Field(
        description="draft, open, closed (the draw comes next), selected, announced, postponed "
        "(new dates; the application stays) or cancelled."
    )
    outcome: str
    applied_at: datetime.datetime
    result: Result = Field(
        description="What the person is told: waiting (for the draw), selected, not_selected "
        "(the wave is drawn and this application was not picked), ineligible (see `reason`) or "
        "cancelled (the wave was cancelled)."
    )
    reason: str | None = Field(
        description="Why the draw found the application ineligible, else null: "
        "ALREADY_PARTICIPANT, LIFETIME_BLOCK, EXCLUDED, ACCOUNT_CLOSED, IN_SCHOOL, UNDER_AGE, "
        "NOT_VERIFIED."
    )


def _application(application: WaveApplication) -> dict[str, Any]:
    return {
        "wave": application.wave.number,
        "wave_status": application.wave.status,
        "outcome": application.outcome,
        "applied_at": application.applied_at,
        "result": application_result(application),
        "reason": application.outcome_reason or None,
    }


class NoOpenWave(ApplicationError):
    code = "NO_OPEN_WAVE"
    http_status = 404
    message_id = "Belum ada gelombang yang dibuka. Coba lagi nanti."
    message_en = "No wave is open at the moment. Try again later."


@router.get(
    "/waves/open",
    response={200: WaveOut, **refusals(404)},
    tags=["waves"],
    operation_id="wave_open_get",
)
def open_wave(request: HttpRequest) -> Wave:
    wave = wave_open()
    if wave is None:
        raise NoOpenWave()
    return wave


@router.post(
    "/me/applications",
    response={201: ApplicationOut, **refusals(401, 404, 409)},
    auth=BearerToken(),
    tags=["waves"],
    operation_id="wave_apply",
)
def apply(request: HttpRequest) -> Status:
    wave = wave_open()
    if wave is None:
        raise NoOpenWave()
    registrant = me(request)
    application = wave_join(
        wave=wave, registrant=registrant, actor=Actor.participant(registrant.pk)
    )
    application.wave = wave
    return Status(201, _application(application))


@router.get(
    "/me/applications",
    response={200: list[ApplicationOut], **refusals(401)},
    auth=BearerToken(),
    tags=["waves"],
    operation_id="applications_list",
)
def applications(request: HttpRequest) -> list[dict]:
    """The person's applications, newest wave first, each with the result they are told."""
    return [_application(a) for a in registrant_applications(me(request).pk)]


class ParticipantOut(Schema):
    card_number: str = Field(description="16 digits, the last a Luhn check digit.")
    status: ParticipantStatus = Field(
        description="active, or revoked: no training was bought by the deadline, the balance "
        "went back to the state and the NIK can never take part again."
    )
    wave: int = Field(description="Number of the wave the person was selected in.")
    balance_idr: int = Field(description="Training balance left, in whole rupiah.")
    purchase_deadline: datetime.datetime = Field(
        description="Deadline for the first training purchase (UTC); the end of a day in WIB."
    )
    days_left: int | None = Field(
        description="Calendar days (WIB) from today to the deadline's day: 0 on the last day; "
        "null when the countdown does not apply (a first training was bought, membership is "
        "revoked, or the deadline has passed)."
    )
    revoked_at: datetime.datetime | None = Field(description="When membership was revoked (UTC).")


@router.get(
    "/me/participant",
    response={200: ParticipantOut, **refusals(401, 404)},
    auth=BearerToken(),
    tags=["waves"],
    operation_id="participant_get",
)
def participant(request: HttpRequest) -> dict:
    """The person's Kartu Prakerja: card number, standing, training balance and the first-purchase
    deadline. 404 NOT_A_PARTICIPANT until the person is selected in a wave."""
    card = participant_card(me(request).pk)
    if card is None:
        raise NotAParticipant()
    p = card.participant
    return {
        "card_number": p.card_number,
        "status": p.status,
        "wave": p.wave.number,
        "balance_idr": card.balance_idr,
        "purchase_deadline": utc(p.purchase_deadline),
        "days_left": card.days_left,
        "revoked_at": utc(p.revoked_at),
    }
