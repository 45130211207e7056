"""`prakerja partners …`: how the PMO creates partners, hands their engineers the credentials,
rotates and retires signing secrets, and suspends or reactivates a partner — exact output, audited,
and refusals that change nothing."""

import io
import json
from collections.abc import Iterator
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from prakerja.audit.models import AuditEvent
from prakerja.common.crypto import decrypt
from prakerja.partners import services
from prakerja.partners.models import Partner, PartnerSecret

pytestmark = pytest.mark.django_db
WEBHOOK_SECRET = "whsec_" + "A" * 32  # base64 of 24 zero bytes


@pytest.fixture
def secrets() -> Iterator[None]:
    """Signing secrets S1, S2, … and a known webhook secret, so the output can be asserted."""
    numbers = iter(range(1, 100))
    with (
        mock.patch.object(services, "_new_secret", side_effect=lambda: f"S{next(numbers)}"),
        mock.patch.object(services.random, "token_bytes", return_value=bytes(24)),
    ):
        yield


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("partners", *args, stdout=out)
    return out.getvalue()


def state() -> dict[str, object]:
    return {
        "partners": list(Partner.objects.order_by("pk").values_list("code", "kind", "status")),
        "secrets": list(
            PartnerSecret.objects.order_by("pk").values_list("pk", "partner__code", "retired_at")
        ),
        "audit": AuditEvent.objects.count(),
    }


def test_create_prints_the_secret_and_stores_it_encrypted(secrets: None):
    out = run("create", "tokopedia", "--name", "Tokopedia", "--kind", "platform")

    assert out == "created tokopedia; signing secret (shown once): S1\n"
    partner = Partner.objects.get()
    assert (partner.code, partner.name, partner.kind, partner.status) == (
        "tokopedia",
        "Tokopedia",
        "platform",
        "active",
    )
    stored = PartnerSecret.objects.get()
    assert stored.secret_encrypted != "S1"
    assert decrypt(stored.secret_encrypted) == "S1"
    assert decrypt(partner.webhook_secret_encrypted) == WEBHOOK_SECRET
    assert list(AuditEvent.objects.values_list("event_type", "actor_label", "subject_id")) == [
        ("partner.created", "system:cli:partners", str(partner.pk))
    ]


def test_credentials_as_text_and_as_json(secrets: None):
    run("create", "bank-rakyat", "--name", "Bank Rakyat", "--kind", "institution")

    assert run("credentials", "bank-rakyat") == "X-PARTNER-ID: bank-rakyat\nsecret: S1\n"
    assert json.loads(run("credentials", "bank-rakyat", "--json")) == {
        "partner_id": "bank-rakyat",
        "kind": "institution",
        "secret": "S1",
        "live_secrets": 1,
        "webhook_secret": WEBHOOK_SECRET,
    }
    assert run("credentials", "bank-rakyat", "--json") == (
        '{"partner_id": "bank-rakyat", "kind": "institution", "secret": "S1", '
        f'"live_secrets": 1, "webhook_secret": "{WEBHOOK_SECRET}"}}\n'
    )


def test_rotate_then_retire(secrets: None):
    run("create", "tokopedia", "--name", "Tokopedia", "--kind", "platform")

    assert run("rotate", "tokopedia") == "new secret for tokopedia (both live): S2\n"
    assert json.loads(run("credentials", "tokopedia", "--json"))["secret"] == "S2"
    assert json.loads(run("credentials", "tokopedia", "--json"))["live_secrets"] == 2

    assert run("retire", "tokopedia") == "retired the older secret of tokopedia\n"

    found = json.loads(run("credentials", "tokopedia", "--json"))
    assert (found["secret"], found["live_secrets"]) == ("S2", 1)
    first, second = PartnerSecret.objects.order_by("pk")
    assert (first.retired_at is not None, second.retired_at) == (True, None)
    assert list(AuditEvent.objects.order_by("pk").values_list("event_type", "details")) == [
        ("partner.created", {}),
        ("partner.secret_added", {"secret": second.pk}),
        ("partner.secret_retired", {"secret": first.pk}),
    ]


def test_a_third_secret_and_retiring_the_last_one_are_refused(secrets: None):
    run("create", "tokopedia", "--name", "Tokopedia", "--kind", "platform")
    before = state()

    with pytest.raises(CommandError) as last:
        run("retire", "tokopedia")

    assert str(last.value) == (
        "PARTNER_SECRET_LAST: This partner holds only one live secret; add a new one before "
        "retiring it. {'partner': 'tokopedia'}"
    )
    assert state() == before

    run("rotate", "tokopedia")
    before = state()

    with pytest.raises(CommandError) as full:
        run("rotate", "tokopedia")

    assert str(full.value) == (
        "PARTNER_SECRETS_FULL: This partner already holds two live secrets; retire one first. "
        "{'partner': 'tokopedia'}"
    )
    assert state() == before


def test_suspend_and_activate(secrets: None):
    run("create", "tokopedia", "--name", "Tokopedia", "--kind", "platform")

    assert run("suspend", "tokopedia") == "tokopedia is suspended\n"
    assert Partner.objects.get().status == "suspended"
    assert run("activate", "tokopedia") == "tokopedia is active\n"
    assert Partner.objects.get().status == "active"
    assert list(
        AuditEvent.objects.filter(event_type="partner.status_changed")
        .order_by("pk")
        .values_list("details", flat=True)
    ) == [
        {"from": "active", "to": "suspended", "reason": "cli"},
        {"from": "suspended", "to": "active", "reason": "cli"},
    ]


def test_activating_an_active_partner_changes_nothing(secrets: None):
    run("create", "tokopedia", "--name", "Tokopedia", "--kind", "platform")
    before = state()

    assert run("activate", "tokopedia") == "tokopedia is active\n"

    assert state() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("create", "Toko Pedia", "--name", "Tokopedia", "--kind", "platform"),
            "VALIDATION_FAILED: The submitted data is not valid. Check the fields named in "
            "details. {'code': 'SLUG_REQUIRED'}",
        ),
        (
            ("create", "tokopedia", "--name", "  ", "--kind", "platform"),
            "VALIDATION_FAILED: The submitted data is not valid. Check the fields named in "
            "details. {'name': 'REQUIRED'}",
        ),
        (
            ("create", "x" * 41, "--name", "X", "--kind", "platform"),
            "VALIDATION_FAILED: The submitted data is not valid. Check the fields named in "
            "details. {'code': 'SLUG_REQUIRED'}",
        ),
        (("rotate", "nobody"), "no partner nobody"),
        (("suspend", "nobody"), "no partner nobody"),
        (
            ("credentials", "nobody"),
            "NOT_FOUND: The requested item was not found. {'partner': 'nobody'}",
        ),
    ],
    ids=[
        "code-not-a-slug",
        "blank-name",
        "code-too-long",
        "rotate-unknown",
        "suspend-unknown",
        "credentials-unknown",
    ],
)
def test_refusals_change_nothing(secrets: None, args: tuple[str, ...], message: str):
    before = state()

    with pytest.raises(CommandError) as refused:
        run(*args)

    assert str(refused.value) == message
    assert state() == before


def test_a_code_is_taken_once(secrets: None):
    run("create", "tokopedia", "--name", "Tokopedia", "--kind", "platform")
    before = state()

    with pytest.raises(CommandError) as refused:
        run("create", "tokopedia", "--name", "Again", "--kind", "institution")

    assert str(refused.value).endswith("{'code': 'ALREADY_EXISTS'}")
    assert state() == before


def test_answers_older_than_a_day_are_forgotten(db):
    import datetime

    from django.utils import timezone

    from prakerja.common.actors import Actor
    from prakerja.partners.idempotency import idempotent_calls_prune
    from prakerja.partners.models import IdempotentCall
    from prakerja.partners.services import partner_create

    partner, _ = partner_create(
        code="prune-test", name="Prune", kind="platform", actor=Actor.system("tests")
    )
    now = timezone.now()
    for key, age in (("old", 25), ("fresh", 23)):
        IdempotentCall.objects.create(
            partner=partner,
            external_id=key,
            request_hash="x",
            status_code=200,
            response_body="{}",
            created_at=now - datetime.timedelta(hours=age),
        )
    assert idempotent_calls_prune() == 1
    assert list(IdempotentCall.objects.values_list("external_id", flat=True)) == ["fresh"]


def test_the_webhook_url_is_set_audited_and_checked(db):
    from prakerja.audit.models import AuditEvent
    from prakerja.common.actors import Actor
    from prakerja.common.errors import ValidationFailed
    from prakerja.partners.services import partner_create, partner_webhook_set

    actor = Actor.system("tests")
    partner, _ = partner_create(code="hook-test", name="Hook", kind="platform", actor=actor)
    partner_webhook_set(partner=partner, url="https://mitra.example/webhooks", actor=actor)
    partner.refresh_from_db()
    assert partner.webhook_url == "https://mitra.example/webhooks"
    event = AuditEvent.objects.get(event_type="partner.webhook_changed")
    assert event.details == {"from": "", "to": "https://mitra.example/webhooks"}
    with pytest.raises(ValidationFailed) as refused:
        partner_webhook_set(partner=partner, url="ftp://mitra.example", actor=actor)
    assert refused.value.details == {"webhook_url": "URL_INVALID"}
    partner.refresh_from_db()
    assert partner.webhook_url == "https://mitra.example/webhooks"
    assert AuditEvent.objects.filter(event_type="partner.webhook_changed").count() == 1
