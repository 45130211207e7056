"""The operator console for waves (the Django admin for now): creation through `wave_create`, one
service per button, the published inputs download, and the read-only participant list."""

import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.urls import reverse

from prakerja.audit.models import AuditEvent
from prakerja.waves.inputs import selection_inputs
from prakerja.waves.models import Participant, PriorityEntry, Wave, WaveApplication
from prakerja.waves.selection import wave_select
from tests.operators import operator_login
from tests.waves.factory import (
    OPERATOR,
    closed,
    join,
    open_wave,
    seed_and_commitment,
    verified,
)

pytestmark = pytest.mark.django_db
SEED, COMMITMENT = seed_and_commitment("seed-of-the-console")
VERIFY = Path(__file__).resolve().parents[2] / "tools" / "verify_selection.py"
UTC = datetime.UTC


def url(name: str, wave: Wave | None = None) -> str:
    return reverse(f"admin:waves_wave_{name}", args=[wave.pk] if wave else None)


def post_action(client: Any, wave: Wave, action: str, **fields: str) -> list[str]:
    """POST one action's form as the page does; the messages the operator then sees."""
    response = client.post(
        url(action, wave), {f"{action}-{k}": v for k, v in fields.items()}, follow=True
    )
    assert response.redirect_chain == [(url("change", wave), 302)]
    return [str(m) for m in response.context["messages"]]


def snapshot(wave: Wave) -> dict[str, Any]:
    """Everything an action could change."""
    fresh = Wave.objects.get(pk=wave.pk)
    return {
        "status": fresh.status,
        "seed": fresh.seed,
        "commitment": fresh.seed_commitment,
        "dates": (fresh.opens_at, fresh.closes_at),
        "participants": Participant.objects.count(),
        "outcomes": sorted(
            WaveApplication.objects.filter(wave=wave).values_list("pk", "outcome", "priority")
        ),
        "audit": AuditEvent.objects.exclude(event_type="console.action").count(),
    }


def verify(tmp_path: Path, body: bytes) -> tuple[int, str]:
    (tmp_path / "inputs.json").write_bytes(body)
    done = subprocess.run(
        [sys.executable, str(VERIFY), str(tmp_path / "inputs.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout


def test_an_operator_runs_a_wave_through_the_admin_and_the_inputs_verify(
    admin_client, admin_user, tmp_path
):
    # Given an operator creating a wave with a provincial quota and a priority group
    response = admin_client.post(
        url("add"),
        {
            "quota": "5",
            "opens_at": "2020-04-11T12:00",
            "closes_at": "2020-04-18T12:00",
            "province_quotas": "94=2",
            "priority_order": "laid_off",
            "verification": "face",
        },
        follow=True,
    )
    wave = Wave.objects.get()
    assert response.redirect_chain == [(url("change", wave), 302)]
    assert [str(m) for m in response.context["messages"]] == ["Gelombang 1 created as a draft."]
    assert (
        wave.number,
        wave.status,
        wave.quota,
        wave.province_quotas,
        wave.priority_order,
        wave.opens_at,
        wave.closes_at,
    ) == (
        1,
        "draft",
        5,
        {"94": 2},
        ["laid_off"],
        datetime.datetime(2020, 4, 11, 5, tzinfo=UTC),  # 12.00 WIB
        datetime.datetime(2020, 4, 18, 5, tzinfo=UTC),
    )
    created = AuditEvent.objects.get(event_type="wave.created")
    assert (created.actor_kind, created.actor_id) == ("user", admin_user.pk)

    # When it is opened with a commitment, people join, it closes and is drawn with the seed
    assert post_action(admin_client, wave, "open", seed_commitment=COMMITMENT) == [
        "Gelombang 1 opened for applications; the commitment is published."
    ]
    join(
        Wave.objects.get(pk=wave.pk),
        verified(3, employment="laid_off") + verified(3, province="94") + verified(6),
    )
    assert post_action(admin_client, wave, "close") == ["Gelombang 1 closed."]
    assert post_action(admin_client, wave, "select", seed=SEED) == [
        "Gelombang 1 drawn: 5 selected of a quota of 5, 0 no longer eligible."
    ]

    # Then the wave is drawn and credited, and its page shows the seed and the counts
    wave.refresh_from_db()
    assert (wave.status, wave.seed, wave.seed_commitment) == ("selected", SEED, COMMITMENT)
    assert wave.credited_at is not None
    assert Participant.objects.filter(wave=wave, credited_at__isnull=False).count() == 5
    page = admin_client.get(url("change", wave))
    assert page.status_code == 200
    assert page.context["outcomes"] == [
        {"label": "not selected", "count": 7},
        {"label": "selected", "count": 5},
    ]
    assert page.context["participants"] == {"total": 5, "active": 5, "revoked": 0, "credited": 5}
    assert [a["name"] for a in page.context["wave_actions"]] == ["announce"]
    assert SEED in page.text and COMMITMENT in page.text
    assert url("inputs", wave) in page.text

    # And the published inputs download as an attachment that the outsider's checker accepts
    download = admin_client.get(url("inputs", wave))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/json"
    assert download["Content-Disposition"] == 'attachment; filename="gelombang-1-inputs.json"'
    body = b"".join(download.streaming_content)
    assert json.loads(body) == selection_inputs(wave)
    assert verify(tmp_path, body) == (0, "MATCH: 5 selected from 12 applications, seed verified\n")

    # And announcing publishes it
    assert post_action(admin_client, wave, "announce") == ["Gelombang 1 announced."]
    assert Wave.objects.get(pk=wave.pk).status == "announced"


def test_the_changelist_shows_counts_times_in_wib_and_crediting(admin_client):
    drawn = open_wave(quota=2, seed=SEED)
    join(drawn, verified(3))
    wave_select(wave=closed(drawn), seed=SEED, actor=OPERATOR)
    draft = open_wave(quota=7, seed="another")  # opened, so drawn is not the only wave

    response = admin_client.get(url("changelist"))

    assert response.status_code == 200
    rows = {
        w.number: (w.status, w.applications_count, w.selected_count, w.credited_at is not None)
        for w in response.context["cl"].result_list
    }
    assert rows == {drawn.number: ("selected", 3, 2, True), draft.number: ("open", 0, 0, False)}
    assert "Opens (WIB)" in response.text and " WIB" in response.text


def test_a_wrong_seed_is_refused_with_its_code_and_changes_nothing(admin_client):
    wave = closed_wave_with_applicants()
    before = snapshot(wave)

    shown = post_action(admin_client, wave, "select", seed="not-the-seed")

    assert shown == [
        "Select Gelombang 1 refused: SEED_MISMATCH — Seed yang dibuka tidak cocok dengan komitmen "
        "yang diumumkan saat gelombang dibuka. / The revealed seed does not match the commitment "
        "published when the wave opened. (wave: 1)"
    ]
    assert snapshot(wave) == before


def closed_wave_with_applicants(n: int = 4) -> Wave:
    wave = open_wave(quota=2, seed=SEED)
    join(wave, verified(n))
    return closed(wave)


@pytest.mark.parametrize(
    ("status_path", "action", "fields", "code"),
    [
        ([], "close", {}, "WAVE_TRANSITION_REFUSED"),
        ([], "announce", {}, "WAVE_TRANSITION_REFUSED"),
        (["open"], "select", {"seed": SEED}, "WAVE_TRANSITION_REFUSED"),
        (["open", "close", "select"], "cancel", {"reason": "x"}, "WAVE_TRANSITION_REFUSED"),
        (["open", "close", "select"], "postpone", {}, None),  # the form needs its dates first
    ],
    ids=[
        "close-a-draft",
        "announce-a-draft",
        "select-an-open-wave",
        "cancel-a-drawn-wave",
        "postpone-without-dates",
    ],
)
def test_an_action_the_status_does_not_allow_is_refused_and_changes_nothing(
    admin_client, status_path, action, fields, code
):
    wave = draft_wave()
    for step in status_path:
        post_action(admin_client, wave, step, **STEP_FIELDS[step])
    before = snapshot(wave)

    shown = post_action(admin_client, wave, action, **fields)

    if code:
        assert shown[0].startswith(f"{action.capitalize()} Gelombang 1 refused: {code} — ")
        assert "tidak dapat diubah menjadi" in shown[0] and "cannot become" in shown[0]
    else:
        assert shown[0].startswith("Postpone Gelombang 1: opens_at: ")
    assert snapshot(wave) == before


STEP_FIELDS = {"open": {"seed_commitment": COMMITMENT}, "close": {}, "select": {"seed": SEED}}


def draft_wave() -> Wave:
    from prakerja.waves.services import wave_create

    now = datetime.datetime(2020, 4, 11, 5, tzinfo=UTC)
    return wave_create(
        quota=2, opens_at=now, closes_at=now + datetime.timedelta(days=7), actor=OPERATOR
    )


def test_a_malformed_commitment_is_refused_with_the_field_and_changes_nothing(admin_client):
    wave = draft_wave()
    before = snapshot(wave)

    shown = post_action(admin_client, wave, "open", seed_commitment="not-hex")

    assert shown == [
        "Open Gelombang 1 refused: VALIDATION_FAILED — Data yang dikirim tidak valid. Periksa "
        "kolom yang disebutkan. / The submitted data is not valid. Check the fields named in "
        "details. (seed_commitment: SHA256_HEX_REQUIRED)"
    ]
    assert snapshot(wave) == before


def test_postpone_and_cancel_take_their_dates_and_reason(admin_client):
    wave = draft_wave()
    audit_before = AuditEvent.objects.exclude(event_type="console.action").count()

    shown = post_action(
        admin_client,
        wave,
        "postpone",
        opens_at="2020-05-01T09:00",
        closes_at="2020-05-08T09:00",
        reason="Server maintenance",
    )

    assert shown == ["Gelombang 1 postponed; its applicants are told the new dates."]
    wave.refresh_from_db()
    assert (wave.status, wave.opens_at, wave.closes_at) == (
        "postponed",
        datetime.datetime(2020, 5, 1, 2, tzinfo=UTC),
        datetime.datetime(2020, 5, 8, 2, tzinfo=UTC),
    )
    event = AuditEvent.objects.get(event_type="wave.postponed")
    assert event.details["reason"] == "Server maintenance"

    # A cancel without a reason is refused by the service, with the field named
    before = snapshot(wave)
    shown = post_action(admin_client, wave, "cancel", reason="  ")
    assert shown[0].endswith("(reason: REQUIRED)") and "VALIDATION_FAILED" in shown[0]
    assert snapshot(wave) == before

    assert post_action(admin_client, wave, "cancel", reason="Budget moved") == [
        "Gelombang 1 cancelled; its applicants are told."
    ]
    assert Wave.objects.get(pk=wave.pk).status == "cancelled"
    assert AuditEvent.objects.exclude(event_type="console.action").count() == audit_before + 2


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"quota": "0"}, {"quota": ["QUOTA_INVALID"]}),
        ({"closes_at": "2020-04-10T12:00"}, {"closes_at": ["CLOSES_BEFORE_OPENS"]}),
        ({"province_quotas": "99=5"}, {"province_quotas": ["PROVINCE_QUOTA_INVALID"]}),
        (
            {"province_quotas": '{"94": 9}', "quota": "5"},
            {"province_quotas": ["PROVINCE_QUOTAS_EXCEED_QUOTA"]},
        ),
        (
            {"priority_order": "laid_off, no_such_list"},
            {"priority_order": ["PRIORITY_GROUP_UNKNOWN"]},
        ),
        ({"priority_order": "laid_off laid_off"}, {"priority_order": ["PRIORITY_GROUP_UNKNOWN"]}),
    ],
)
def test_refused_wave_settings_show_the_service_codes_by_field(admin_client, overrides, errors):
    data = {
        "quota": "10",
        "opens_at": "2020-04-11T12:00",
        "closes_at": "2020-04-18T12:00",
        "province_quotas": "",
        "priority_order": "",
        "verification": "face",
        **overrides,
    }

    response = admin_client.post(url("add"), data)

    assert response.status_code == 200
    form = response.context["form"]
    assert {f: e for f, e in form.errors.items() if f != "__all__"} == errors
    assert form.non_field_errors()[0].startswith("VALIDATION_FAILED — Data yang dikirim")
    assert (
        Wave.objects.count(),
        AuditEvent.objects.exclude(event_type="console.action").count(),
    ) == (0, 0)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("94=1200\n32 = 5", {"94": 1200, "32": 5}),
        ("94=1200, 32=5", {"94": 1200, "32": 5}),
        ('{"94": 1200}', {"94": 1200}),
        ("", {}),
    ],
)
def test_province_quotas_are_typed_as_lines_or_json(admin_client, text, parsed):
    response = admin_client.post(
        url("add"),
        {
            "quota": "2000",
            "opens_at": "2020-04-11T12:00",
            "closes_at": "2020-04-18T12:00",
            "province_quotas": text,
            "verification": "fi_kyc",
        },
    )
    assert response.status_code == 302
    wave = Wave.objects.get()
    assert (wave.province_quotas, wave.verification) == (parsed, "fi_kyc")


@pytest.mark.parametrize("text", ["94:12", "94=many", '{"94": "12"}', "{not json", "94=1\n94=2"])
def test_unreadable_province_quotas_are_a_form_error(admin_client, text):
    response = admin_client.post(
        url("add"),
        {
            "quota": "10",
            "opens_at": "2020-04-11T12:00",
            "closes_at": "2020-04-18T12:00",
            "province_quotas": text,
            "verification": "face",
        },
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["province_quotas"]
    assert Wave.objects.count() == 0


def test_the_page_offers_only_the_transitions_the_status_allows(admin_client):
    wave = draft_wave()
    page = admin_client.get(url("change", wave))
    assert [a["name"] for a in page.context["wave_actions"]] == ["open", "postpone", "cancel"]
    assert 'id="wave-open"' in page.text and 'id="wave-close"' not in page.text
    assert "secret until the draw" in page.text
    assert url("inputs", wave) not in page.text


def test_waves_cannot_be_edited_or_deleted_and_actions_need_a_post(admin_client):
    wave = draft_wave()
    before = snapshot(wave)
    assert admin_client.post(url("change", wave), {"quota": "99"}).status_code == 403
    assert admin_client.post(url("delete", wave), {"post": "yes"}).status_code == 403
    assert admin_client.get(url("close", wave)).status_code == 405
    assert snapshot(wave) == before


def test_an_operator_without_the_change_permission_sees_no_actions_and_cannot_post(
    client, django_user_model
):
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_wave"))
    operator_login(client, viewer)
    wave = draft_wave()
    before = snapshot(wave)

    page = client.get(url("change", wave))
    refused = client.post(url("open", wave), {"open-seed_commitment": COMMITMENT})

    assert page.status_code == 200 and page.context["wave_actions"] == []
    assert refused.status_code == 403
    assert snapshot(wave) == before


def test_the_inputs_of_a_wave_not_drawn_are_a_409(admin_client):
    wave = closed_wave_with_applicants()
    response = admin_client.get(url("inputs", wave))
    assert response.status_code == 409
    assert response.content.decode().startswith("WAVE_NOT_DRAWN — Gelombang ini belum diseleksi")
    assert "has not been drawn yet" in response.content.decode()


def test_participants_are_found_by_exact_card_number_only(admin_client):
    wave = closed_wave_with_applicants(3)
    wave_select(wave=wave, seed=SEED, actor=OPERATOR)
    participant = Participant.objects.select_related("registrant").first()
    assert participant is not None
    card = participant.card_number
    changelist = reverse("admin:waves_participant_changelist")

    def found(term: str) -> list[str]:
        response = admin_client.get(changelist, {"q": term})
        assert response.status_code == 200
        return [p.card_number for p in response.context["cl"].result_list]

    assert found(card) == [card]
    assert found(f"{card[:4]} {card[4:8]} {card[8:12]} {card[12:]}") == [card]
    assert found(card[:12]) == []
    assert found(participant.registrant.full_name) == []
    assert len(found("")) == 2
    of_wave = admin_client.get(changelist, {"wave__id__exact": wave.pk})  # the wave page's link
    assert len(of_wave.context["cl"].result_list) == 2
    detail = admin_client.get(reverse("admin:waves_participant_change", args=[participant.pk]))
    assert detail.status_code == 200 and card in detail.text
    assert participant.registrant.full_name not in detail.text
    assert admin_client.get(reverse("admin:waves_participant_add")).status_code == 403


def test_priority_entries_are_listed_read_only(admin_client):
    PriorityEntry.objects.create(group="phk-tekstil", nik_index="a" * 64)
    changelist = admin_client.get(reverse("admin:waves_priorityentry_changelist"))
    assert changelist.status_code == 200 and "phk-tekstil" in changelist.text
    assert admin_client.get(reverse("admin:waves_priorityentry_add")).status_code == 403


# --- the command line ----------------------------------------------------------------------------


def drawn_wave() -> Wave:
    wave = closed_wave_with_applicants(4)
    return wave_select(wave=wave, seed=SEED, actor=OPERATOR).wave


def test_the_command_writes_the_inputs_to_stdout_or_a_file(tmp_path, capsys):
    wave = drawn_wave()
    expected = selection_inputs(wave)

    call_command("waves", "inputs", "--wave", str(wave.number))
    assert json.loads(capsys.readouterr().out) == expected

    out = tmp_path / "inputs.json"
    call_command("waves", "inputs", "--wave", str(wave.number), "--out", str(out))
    assert json.loads(out.read_text()) == expected
    assert verify(tmp_path, out.read_bytes()) == (
        0,
        "MATCH: 2 selected from 4 applications, seed verified\n",
    )


def test_the_command_refuses_a_wave_not_drawn_or_unknown(tmp_path):
    wave = closed_wave_with_applicants()
    out = tmp_path / "inputs.json"
    with pytest.raises(CommandError, match="wave 1: WAVE_NOT_DRAWN: This wave has not been drawn"):
        call_command("waves", "inputs", "--wave", str(wave.number), "--out", str(out))
    assert not out.exists()
    with pytest.raises(CommandError, match="there is no wave 9"):
        call_command("waves", "inputs", "--wave", "9")
