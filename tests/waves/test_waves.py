"""Wave lifecycle by its transition table, and joining the open wave."""

import datetime
import hashlib

import pytest
from django.core import mail
from django.utils import timezone

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.common.errors import Conflict, ValidationFailed
from prakerja.notifications.services import notifications_send_due
from prakerja.registration import services as registration
from prakerja.waves import services
from prakerja.waves.models import Verification, Wave, WaveApplication, WaveStatus
from tests.registration.kit import jpeg_with_exif

pytestmark = pytest.mark.django_db
OPERATOR = Actor("user", 1, "user:operator")
COMMITMENT = hashlib.sha256(b"seed-of-wave").hexdigest()


def dates(days: int = 7) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.now()
    return start, start + datetime.timedelta(days=days)


def new_wave(**overrides) -> Wave:
    opens_at, closes_at = dates()
    values = dict(quota=200, opens_at=opens_at, closes_at=closes_at, actor=OPERATOR)
    values.update(overrides)
    return services.wave_create(**values)


def open_wave(**overrides) -> Wave:
    return services.wave_open(
        wave=new_wave(**overrides), seed_commitment=COMMITMENT, actor=OPERATOR
    )


def test_waves_are_numbered_and_start_as_drafts():
    first, second = (
        new_wave(),
        new_wave(quota=1000, province_quotas={"94": 100}, priority_order=["laid_off"]),
    )
    assert (first.number, second.number) == (1, 2)
    assert (first.status, first.scheme.code) == ("draft", "2020")
    assert second.province_quotas == {"94": 100}
    assert AuditEvent.objects.filter(event_type="wave.created").count() == 2


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"quota": 0}, "quota", "QUOTA_INVALID"),
        (
            {"closes_at": timezone.now() - datetime.timedelta(days=1)},
            "closes_at",
            "CLOSES_BEFORE_OPENS",
        ),
        ({"province_quotas": {"99": 5}}, "province_quotas", "PROVINCE_QUOTA_INVALID"),
        ({"province_quotas": {"94": "5"}}, "province_quotas", "PROVINCE_QUOTA_INVALID"),
        ({"province_quotas": {"94": True}}, "province_quotas", "PROVINCE_QUOTA_INVALID"),
        (
            {"province_quotas": {"32": 150, "31": 100}},
            "province_quotas",
            "PROVINCE_QUOTAS_EXCEED_QUOTA",
        ),
        ({"priority_order": ["friends"]}, "priority_order", "PRIORITY_GROUP_UNKNOWN"),
        ({"verification": "palm"}, "verification", "CHOICE_INVALID"),
    ],
)
def test_refused_wave_settings_are_named_and_nothing_is_written(overrides, field, code):
    with pytest.raises(ValidationFailed) as refused:
        new_wave(**overrides)
    assert refused.value.details[field] == code
    assert (Wave.objects.count(), AuditEvent.objects.count()) == (0, 0)


def test_opening_needs_a_seed_commitment_and_only_one_wave_is_open():
    wave = new_wave()
    with pytest.raises(ValidationFailed):
        services.wave_open(wave=wave, seed_commitment="not-a-hash", actor=OPERATOR)
    wave.refresh_from_db()
    assert (wave.status, wave.seed_commitment) == ("draft", "")

    services.wave_open(wave=wave, seed_commitment=COMMITMENT, actor=OPERATOR)
    with pytest.raises(Conflict) as refused:
        services.wave_open(wave=new_wave(), seed_commitment=COMMITMENT, actor=OPERATOR)
    assert refused.value.details == {"wave": "ANOTHER_WAVE_IS_OPEN"}
    assert list(Wave.objects.order_by("number").values_list("status", flat=True)) == [
        "open",
        "draft",
    ]


@pytest.mark.parametrize(
    ("path", "refused_step"),
    [
        ([], "close"),  # a draft cannot close
        (["open", "close", "cancel"], "open"),  # a cancelled wave stays cancelled
    ],
)
def test_moves_outside_the_transition_table_are_refused_and_change_nothing(path, refused_step):
    wave = new_wave()
    steps = {
        "open": lambda: services.wave_open(wave=wave, seed_commitment=COMMITMENT, actor=OPERATOR),
        "close": lambda: services.wave_close(wave=wave, actor=OPERATOR),
        "cancel": lambda: services.wave_cancel(wave=wave, reason="budget review", actor=OPERATOR),
    }
    for step in path:
        steps[step]()
    before = (Wave.objects.get(pk=wave.pk).status, AuditEvent.objects.count())
    with pytest.raises(services.WaveTransitionRefused):
        steps[refused_step]()
    assert (Wave.objects.get(pk=wave.pk).status, AuditEvent.objects.count()) == before


def verified(journey, people, django_capture_on_commit_callbacks, **make):
    registrant = journey.through_phone(people.make(**make))
    with django_capture_on_commit_callbacks(execute=True):
        registration.face_submit(registrant=registrant, image=jpeg_with_exif())
    registrant.refresh_from_db()
    return registrant


def test_a_fully_verified_registrant_joins_the_open_wave_once(
    journey, people, django_capture_on_commit_callbacks
):
    wave = open_wave()
    registrant = verified(journey, people, django_capture_on_commit_callbacks)

    application = services.wave_join(wave=wave, registrant=registrant, actor=OPERATOR)

    assert (application.outcome, application.wave.number) == ("pending", 1)
    with pytest.raises(services.AlreadyApplied):
        services.wave_join(wave=wave, registrant=registrant, actor=OPERATOR)
    assert WaveApplication.objects.count() == 1


def test_joining_needs_every_layer_the_wave_requires(
    journey, people, django_capture_on_commit_callbacks
):
    registrant = journey.through_phone(people.make())  # face check not done
    face_wave = open_wave()
    with pytest.raises(services.NotVerified) as refused:
        services.wave_join(wave=face_wave, registrant=registrant, actor=OPERATOR)
    assert refused.value.details == {"layers": ["face"]}
    assert WaveApplication.objects.count() == 0

    services.wave_cancel(wave=face_wave, reason="switch to KYC", actor=OPERATOR)
    kyc_wave = open_wave(verification=Verification.FI_KYC)
    services.wave_join(wave=kyc_wave, registrant=registrant, actor=OPERATOR)
    assert WaveApplication.objects.filter(wave=kyc_wave).count() == 1


def test_a_closed_wave_takes_no_applications(journey, people, django_capture_on_commit_callbacks):
    wave = services.wave_close(wave=open_wave(), actor=OPERATOR)
    registrant = verified(journey, people, django_capture_on_commit_callbacks)
    with pytest.raises(services.WaveNotOpen):
        services.wave_join(wave=wave, registrant=registrant, actor=OPERATOR)
    assert WaveApplication.objects.count() == 0


def test_postponing_keeps_applications_and_tells_every_applicant(
    journey, people, sms, django_capture_on_commit_callbacks
):
    wave = open_wave()
    applicants = [verified(journey, people, django_capture_on_commit_callbacks) for _ in range(3)]
    for registrant in applicants:
        services.wave_join(wave=wave, registrant=registrant, actor=OPERATOR)
    mail.outbox.clear()
    sms.sent.clear()
    later, much_later = dates(30)[1], dates(37)[1]

    with django_capture_on_commit_callbacks(execute=True):
        services.wave_postpone(
            wave=wave,
            opens_at=later,
            closes_at=much_later,
            reason="data backlog review",
            actor=OPERATOR,
        )

    wave.refresh_from_db()
    assert (wave.status, wave.opens_at) == ("postponed", later)
    assert WaveApplication.objects.filter(wave=wave).count() == 3
    assert notifications_send_due() == 6  # an SMS and an email each
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.email for r in applicants)
    assert all(m.subject == "Kartu Prakerja: gelombang 1 ditunda" for m in mail.outbox)
    assert sorted(to for to, _, _ in sms.sent) == sorted(r.phone for r in applicants)
    event = AuditEvent.objects.get(event_type="wave.postponed")
    assert event.details["reason"] == "data backlog review"
    # and it opens again on its new dates
    services.wave_open(wave=wave, seed_commitment=COMMITMENT, actor=OPERATOR)
    assert Wave.objects.get(pk=wave.pk).status == WaveStatus.OPEN


def test_a_verified_person_joins_from_the_status_page(
    client, journey, people, django_capture_on_commit_callbacks
):
    wave = open_wave()
    person = people.make()
    registrant = journey.through_phone(person)
    client.post("/masuk/", {"email": person.email, "password": "Rahasia-Sekali-2020"})
    assert (
        'id="open-wave"' not in client.get("/status/").content.decode()
    )  # face check not done yet

    with django_capture_on_commit_callbacks(execute=True):
        registration.face_submit(registrant=registrant, image=jpeg_with_exif())
    page = client.get("/status/").content.decode()
    assert "Gelombang 1 dibuka" in page
    client.post("/status/gelombang/ikut/")

    page = client.get("/status/").content.decode()
    assert 'id="application-1"' in page and 'id="open-wave"' not in page
    assert WaveApplication.objects.get().wave == wave


def test_the_api_shows_the_open_wave_and_applies(
    client, journey, people, django_capture_on_commit_callbacks
):
    assert client.get("/api/v1/waves/open").json()["error"]["code"] == "NO_OPEN_WAVE"
    open_wave(verification=Verification.FI_KYC)
    person = people.make()
    journey.through_phone(person)  # an FI-KYC wave does not need the face check
    token = client.post(
        "/api/v1/auth/login",
        {"email": person.email, "password": "Rahasia-Sekali-2020"},
        content_type="application/json",
    ).json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    assert client.get("/api/v1/waves/open").json()["verification"] == "fi_kyc"
    created = client.post("/api/v1/me/applications", **auth)
    again = client.post("/api/v1/me/applications", **auth)

    assert created.status_code == 201 and created.json()["wave"] == 1
    assert again.status_code == 409 and again.json()["error"]["code"] == "ALREADY_APPLIED"
    assert [a["wave"] for a in client.get("/api/v1/me/applications", **auth).json()] == [1]
