"""Curation of the catalog (program.md §4, §7): the PMO's decisions by one transition table, reasons,
a platform's changes sending a training back to review, the price-parity and near-duplicate flags,
and the `training.status_changed` events queued for the platform."""

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from prakerja.audit.models import AuditEvent
from prakerja.catalog import flags
from prakerja.catalog.models import Institution, Training, TrainingStatus
from prakerja.catalog.services import (
    TRANSITIONS,
    TrainingData,
    TrainingNotFound,
    TrainingTransitionRefused,
    training_data_validate,
    training_review,
    training_upsert,
    training_withdraw,
)
from prakerja.catalog.tasks import near_duplicates_check_due_task
from prakerja.common.actors import Actor
from prakerja.common.errors import ValidationFailed
from prakerja.partners.errors import PartnerKindNotAllowed
from prakerja.partners.models import OutboundEvent, Partner
from tests.catalog.kit import DESCRIPTION, make_partner, offline_body, snapshot, training_body
from tests.operators import operator_login

pytestmark = pytest.mark.django_db
PMO = Actor.system("tests:pmo")


@pytest.fixture
def platform() -> Partner:
    return make_partner("tokopedia")[0]


def publish(platform: Partner, external_id: str = "barista-01", **fields: Any) -> Training:
    training, _ = training_upsert(
        platform=platform,
        external_id=external_id,
        data=training_body(**fields),
        actor=Actor.partner(platform.pk, platform.code),
    )
    return training


def in_status(platform: Partner, status: str) -> Training:
    """A training brought to `status` the way it happens: published, then decided on."""
    training = publish(platform)
    path = {
        TrainingStatus.PENDING_REVIEW: [],
        TrainingStatus.ACTIVE: ["approve"],
        TrainingStatus.REJECTED: ["reject"],
        TrainingStatus.SUSPENDED: ["approve", "suspend"],
        TrainingStatus.WITHDRAWN: [],
    }[status]
    for decision in path:
        training = training_review(
            training=training, decision=decision, reason="alasan uji", actor=PMO
        )
    if status == TrainingStatus.WITHDRAWN:
        training = training_withdraw(platform=platform, external_id="barista-01", actor=PMO)
    assert training.status == status
    return training


def status_events(training: Training) -> list[dict[str, Any]]:
    return [
        e.payload["data"]
        for e in OutboundEvent.objects.filter(subject=f"training:{training.pk}").order_by("pk")
    ]


# --- the transition table ---------------------------------------------------------------------------

ALLOWED = {
    (TrainingStatus.PENDING_REVIEW, "approve"): TrainingStatus.ACTIVE,
    (TrainingStatus.PENDING_REVIEW, "reject"): TrainingStatus.REJECTED,
    (TrainingStatus.ACTIVE, "suspend"): TrainingStatus.SUSPENDED,
    (TrainingStatus.SUSPENDED, "reinstate"): TrainingStatus.ACTIVE,
}


@pytest.mark.parametrize("status", TrainingStatus.values)
@pytest.mark.parametrize("decision", ["approve", "reject", "suspend", "reinstate"])
def test_each_decision_from_each_status(platform: Partner, status: str, decision: str):
    training = in_status(platform, status)
    events_before = len(status_events(training))
    before = snapshot()

    if (status, decision) in ALLOWED:
        reviewed = training_review(
            training=training, decision=decision, reason="Alasan PMO", actor=PMO
        )

        target = ALLOWED[(status, decision)]
        assert Training.objects.get(pk=training.pk).status == reviewed.status == target
        audit = AuditEvent.objects.filter(event_type="training.reviewed").order_by("pk").last()
        assert audit is not None
        assert (audit.actor_label, audit.subject_id, audit.details) == (
            "system:tests:pmo",
            str(training.pk),
            {"decision": decision, "from": status, "to": target, "reason": "Alasan PMO"},
        )
        assert status_events(training)[events_before:] == [
            {
                "training_id": training.pk,
                "external_id": "barista-01",
                "status": target,
                "previous_status": status,
                "cause": {
                    "approve": "approved",
                    "reject": "rejected",
                    "suspend": "suspended",
                    "reinstate": "reinstated",
                }[decision],
                "reason": "Alasan PMO",
            }
        ]
    else:
        with pytest.raises(TrainingTransitionRefused) as refused:
            training_review(training=training, decision=decision, reason="Alasan PMO", actor=PMO)

        assert refused.value.code == "TRAINING_TRANSITION_REFUSED"
        assert refused.value.details == {
            "training_id": training.pk,
            "status": status,
            "decision": decision,
        }
        assert snapshot() == before


def test_the_table_names_every_status_and_only_known_ones():
    assert set(TRANSITIONS) == set(TrainingStatus.values)
    assert all(targets <= set(TrainingStatus.values) for targets in TRANSITIONS.values())


@pytest.mark.parametrize(
    ("status", "decision"),
    [(TrainingStatus.PENDING_REVIEW, "reject"), (TrainingStatus.ACTIVE, "suspend")],
)
@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_and_suspend_need_a_reason(
    platform: Partner, status: str, decision: str, reason: str
):
    training = in_status(platform, status)
    before = snapshot()

    with pytest.raises(ValidationFailed) as refused:
        training_review(training=training, decision=decision, reason=reason, actor=PMO)

    assert refused.value.details == {"reason": "REQUIRED"}
    assert snapshot() == before


def test_a_reason_is_kept_and_shown_to_the_platform(platform: Partner):
    training = publish(platform)

    training_review(training=training, decision="reject", reason="  Harga tidak wajar  ", actor=PMO)

    fresh = Training.objects.get(pk=training.pk)
    assert (fresh.status, fresh.status_reason) == ("rejected", "Harga tidak wajar")
    assert status_events(training)[-1]["reason"] == "Harga tidak wajar"


def test_approval_clears_the_previous_reason(platform: Partner):
    training = in_status(platform, TrainingStatus.SUSPENDED)

    training_review(training=training, decision="reinstate", reason="", actor=PMO)

    assert Training.objects.get(pk=training.pk).status_reason == ""


def test_a_reason_longer_than_300_and_an_unknown_decision_are_refused(platform: Partner):
    training = publish(platform)
    before = snapshot()

    with pytest.raises(ValidationFailed) as too_long:
        training_review(training=training, decision="reject", reason="x" * 301, actor=PMO)
    with pytest.raises(ValidationFailed) as unknown:
        training_review(training=training, decision="delete", reason="x", actor=PMO)

    assert too_long.value.details == {"reason": "TOO_LONG"}
    assert unknown.value.details == {"decision": "CHOICE_INVALID"}
    assert snapshot() == before


def test_a_decision_reads_the_status_in_the_database_not_the_callers_copy(platform: Partner):
    stale = publish(platform)
    training_review(training=stale, decision="approve", reason="", actor=PMO)

    with pytest.raises(TrainingTransitionRefused):
        training_review(training=stale, decision="reject", reason="copy", actor=PMO)

    assert Training.objects.get(pk=stale.pk).status == TrainingStatus.ACTIVE


# --- a platform's changes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "changed"),
    [
        ({"price_idr": 700_000}, ["price_idr"]),
        ({"description": DESCRIPTION + " Bonus modul."}, ["description"]),
        ({"sessions": 8, "duration_hours": 16}, ["duration_hours", "sessions"]),
        ({"url": "https://platform.example/kelas/barista-2"}, ["url"]),
        (
            {
                "institution": {
                    "external_id": "lpk-lain",
                    "name": "LPK Lain",
                    "owned_by_platform": True,
                }
            },
            ["institution"],
        ),
    ],
    ids=["price", "description", "duration", "url", "institution"],
)
@pytest.mark.parametrize("status", [TrainingStatus.ACTIVE, TrainingStatus.REJECTED])
def test_a_change_of_price_or_content_sends_the_training_back_to_review(
    platform: Partner, status: str, change: dict[str, Any], changed: list[str]
):
    training = in_status(platform, status)

    again = publish(platform, **change)

    assert again.pk == training.pk
    assert Training.objects.get(pk=training.pk).status == TrainingStatus.PENDING_REVIEW
    assert status_events(training)[-1] == {
        "training_id": training.pk,
        "external_id": "barista-01",
        "status": "pending_review",
        "previous_status": status,
        "cause": "content_changed",
        "reason": "",
    }
    audit = AuditEvent.objects.filter(event_type="training.updated").get()
    assert audit.details["changed"] == changed
    assert audit.details["status"] == [status, "pending_review"]


@pytest.mark.parametrize("status", [TrainingStatus.PENDING_REVIEW, TrainingStatus.SUSPENDED])
def test_a_change_keeps_a_pending_or_suspended_training_where_it_is(platform: Partner, status: str):
    training = in_status(platform, status)
    events = OutboundEvent.objects.count()

    publish(platform, price_idr=600_000)

    fresh = Training.objects.get(pk=training.pk)
    assert (fresh.status, fresh.price_idr) == (status, 600_000)
    assert OutboundEvent.objects.count() == events


@pytest.mark.parametrize("status", [s for s in TrainingStatus.values if s != "withdrawn"])
def test_the_same_body_again_changes_nothing(platform: Partner, status: str):
    in_status(platform, status)
    before = snapshot()

    publish(platform)

    assert snapshot() == before


def test_a_new_institution_name_updates_the_institution_without_a_review(platform: Partner):
    training = in_status(platform, TrainingStatus.ACTIVE)

    publish(
        platform,
        institution={
            "external_id": "lpk-kopi",
            "name": "LPK Kopi Indonesia",
            "owned_by_platform": True,
        },
    )

    institution = Institution.objects.get()
    assert (institution.name, institution.owned_by_platform) == ("LPK Kopi Indonesia", True)
    assert Training.objects.get(pk=training.pk).status == TrainingStatus.ACTIVE
    assert AuditEvent.objects.filter(event_type="institution.updated").get().details == {
        "name": ["LPK Kopi Nusantara", "LPK Kopi Indonesia"],
        "owned_by_platform": [False, True],
    }


def test_withdrawing_then_publishing_again_goes_through_review(platform: Partner):
    training = in_status(platform, TrainingStatus.ACTIVE)

    training_withdraw(platform=platform, external_id="barista-01", actor=PMO)
    publish(platform)

    assert Training.objects.get(pk=training.pk).status == TrainingStatus.PENDING_REVIEW
    assert [(e["previous_status"], e["status"], e["cause"]) for e in status_events(training)] == [
        ("pending_review", "active", "approved"),
        ("active", "withdrawn", "withdrawn"),
        ("withdrawn", "pending_review", "resubmitted"),
    ]


def test_a_platform_withdraws_only_its_own_trainings(platform: Partner):
    publish(platform)
    other = make_partner("pintaria")[0]
    before = snapshot()

    with pytest.raises(TrainingNotFound) as refused:
        training_withdraw(platform=other, external_id="barista-01", actor=PMO)

    assert (refused.value.code, refused.value.http_status) == ("TRAINING_NOT_FOUND", 404)
    assert snapshot() == before


def test_only_a_platform_publishes_trainings():
    bank = make_partner("bank-rakyat", kind="institution")[0]
    before = snapshot()

    with pytest.raises(PartnerKindNotAllowed):
        training_upsert(platform=bank, external_id="x", data=training_body(), actor=PMO)

    assert snapshot() == before


# --- validation ---------------------------------------------------------------------------------------


def test_every_failing_field_is_named_at_once():
    body = offline_body(
        title="",
        category=7,
        price_idr=True,
        price_outside_program_idr=-1,
        duration_hours=1.5,
        url="javascript:alert(1)",
        location={"address": "x" * 301, "regency_code": "99.99", "lat": "south", "lon": None},
        institution={"external_id": "", "name": "LPK", "owned_by_platform": "yes"},
    )
    del body["sessions"]

    with pytest.raises(ValidationFailed) as refused:
        training_data_validate(body)

    assert refused.value.details == {
        "title": "REQUIRED",
        "category": "STRING_REQUIRED",
        "price_idr": "INTEGER_REQUIRED",
        "price_outside_program_idr": "OUT_OF_RANGE",
        "duration_hours": "INTEGER_REQUIRED",
        "sessions": "REQUIRED",
        "url": "URL_INVALID",
        "location.address": "TOO_LONG",
        "location.regency_code": "REGENCY_UNKNOWN",
        "location.lat": "NUMBER_REQUIRED",
        "location.lon": "REQUIRED",
        "institution.external_id": "REQUIRED",
        "institution.owned_by_platform": "BOOLEAN_REQUIRED",
    }


def test_a_valid_body_is_normalised():
    data = training_data_validate(
        offline_body(
            title="  Barista  ",
            location={"address": " Jl. Braga 10 ", "regency_code": "3273", "lat": -7, "lon": 107},
        )
    )

    assert isinstance(data, TrainingData)
    assert (data.title, data.address, data.regency_code, data.lat, data.lon) == (
        "Barista",
        "Jl. Braga 10",
        "32.73",
        -7.0,
        107.0,
    )
    assert (data.price_idr, data.institution_external_id, data.owned_by_platform) == (
        750_000,
        "lpk-kopi",
        False,
    )


def test_price_bounds_are_1_to_10_million_rupiah():
    assert training_data_validate(training_body(price_idr=1)).price_idr == 1
    assert training_data_validate(training_body(price_idr=10_000_000)).price_idr == 10_000_000
    for price in (0, 10_000_001, -5):
        with pytest.raises(ValidationFailed) as refused:
            training_data_validate(training_body(price_idr=price))
        assert refused.value.details == {"price_idr": "OUT_OF_RANGE"}


# --- flags ------------------------------------------------------------------------------------------


def test_a_price_above_the_price_outside_the_program_is_flagged_and_cleared(platform: Partner):
    training = publish(platform, price_idr=950_000, price_outside_program_idr=900_000)
    assert training.flag_price_above_outside is True

    publish(platform, price_idr=900_000, price_outside_program_idr=900_000)

    assert Training.objects.get(pk=training.pk).flag_price_above_outside is False


def other_institution(external_id: str, name: str) -> dict[str, Any]:
    return {"external_id": external_id, "name": name, "owned_by_platform": False}


def check() -> int:
    """The periodic near-duplicate check of new trainings, run now."""
    return flags.near_duplicates_check_due()


def test_a_new_training_is_stored_as_returned_with_its_audit_event(platform: Partner):
    """The hot path writes the rows by raw statements: they read back as the ORM wrote them."""
    training = publish(platform, "o-1", **offline_body(price_idr=950_000))

    stored = Training.objects.select_related("institution").get()
    fields = [f.attname for f in Training._meta.concrete_fields]
    assert [getattr(stored, name) for name in fields] == [
        getattr(training, name) for name in fields
    ]
    assert (
        stored.status,
        stored.status_reason,
        stored.buyers,
        stored.flag_price_above_outside,
    ) == (
        TrainingStatus.PENDING_REVIEW,
        "",
        0,
        True,
    )
    assert stored.institution.created_at == training.institution.created_at
    audit = AuditEvent.objects.get(event_type="training.created")
    assert (audit.actor_kind, audit.actor_label, audit.subject_type, audit.subject_id) == (
        "partner",
        "partner:tokopedia",
        "catalog.training",
        str(training.pk),
    )
    assert audit.details == {
        "external_id": "o-1",
        "status": "pending_review",
        "price_idr": 950_000,
        "flag_price_above_outside": True,
        "near_duplicate_checked": False,
    }
    assert (stored.near_duplicate_checked, stored.flag_near_duplicate) == (False, False)
    # Not compared yet: the check has not stored its band keys.
    assert (
        flags.near_duplicates(flags.Text("Kuliner", "LPK Lain", stored.title, stored.description))
        == set()
    )

    assert check() == 1

    assert Training.objects.filter(near_duplicate_checked=False).count() == 0
    assert flags.near_duplicates(flags.Text.of(stored)) == set()
    assert flags.near_duplicates(
        flags.Text("Kuliner", "LPK Lain", stored.title, stored.description)
    ) == {training.pk}


def test_a_near_copy_by_another_institution_flags_both(platform: Partner):
    original = publish(platform, "a-1")
    copy = publish(
        platform,
        "b-1",
        title="MENJADI BARISTA PROFESIONAL!",
        description=DESCRIPTION.replace("Indonesia", "Indonesia.") + " Sertifikat.",
        institution=other_institution("lpk-tiru", "LPK Tiruan"),
    )
    assert (copy.flag_near_duplicate, copy.near_duplicate_checked) == (False, False)

    assert check() == 2

    assert Training.objects.get(pk=copy.pk).flag_near_duplicate is True
    assert Training.objects.get(pk=original.pk).flag_near_duplicate is True
    assert sorted(
        (e.subject_id, e.details)
        for e in AuditEvent.objects.filter(event_type="training.near_duplicate_flagged")
    ) == sorted(
        [(str(copy.pk), {"matches": [original.pk]}), (str(original.pk), {"matches": [copy.pk]})]
    )
    assert check() == 0
    assert AuditEvent.objects.filter(event_type="training.near_duplicate_flagged").count() == 2


def test_a_copy_published_after_the_original_was_checked_flags_both(platform: Partner):
    original = publish(platform, "a-1")
    assert check() == 1
    assert Training.objects.get(pk=original.pk).flag_near_duplicate is False

    copy = publish(platform, "b-1", institution=other_institution("lpk-tiru", "LPK Tiruan"))
    assert check() == 1

    assert Training.objects.get(pk=copy.pk).flag_near_duplicate is True
    assert Training.objects.get(pk=original.pk).flag_near_duplicate is True


def test_the_check_runs_as_a_periodic_task(platform: Partner):
    jobs = {task for task, _ in settings.PERIODIC_JOBS.values()}
    assert "prakerja.catalog.near_duplicates_check_due" in jobs
    original = publish(platform, "a-1")
    copy = publish(platform, "b-1", institution=other_institution("lpk-tiru", "LPK Tiruan"))

    assert near_duplicates_check_due_task.apply().get() == 2

    assert list(
        Training.objects.order_by("pk").values_list(
            "pk", "near_duplicate_checked", "flag_near_duplicate"
        )
    ) == [(original.pk, True, True), (copy.pk, True, True)]


def test_a_training_withdrawn_before_its_check_is_only_marked_checked(platform: Partner):
    original = publish(platform, "a-1")
    publish(platform, "b-1", institution=other_institution("lpk-tiru", "LPK Tiruan"))
    training_withdraw(platform=platform, external_id="b-1", actor=PMO)

    assert check() == 2

    assert Training.objects.get(pk=original.pk).flag_near_duplicate is False
    assert Training.objects.filter(near_duplicate_checked=False).count() == 0
    assert not AuditEvent.objects.filter(event_type="training.near_duplicate_flagged").exists()


def test_the_same_institution_on_two_platforms_is_not_a_duplicate(platform: Partner):
    other = make_partner("pintaria")[0]
    first = publish(platform, "a-1")
    second, _ = training_upsert(
        platform=other,
        external_id="p-1",
        data=training_body(institution=other_institution("kopi", "LPK  Kopi Nusantara")),
        actor=PMO,
    )
    assert check() == 2

    assert list(Training.objects.order_by("pk").values_list("pk", "flag_near_duplicate")) == [
        (first.pk, False),
        (second.pk, False),
    ]


def test_another_category_or_a_different_text_is_not_a_duplicate(platform: Partner):
    publish(platform, "a-1")
    other_category = publish(
        platform, "b-1", category="Pemasaran", institution=other_institution("x", "LPK X")
    )
    different = publish(
        platform,
        "c-1",
        title="Kursus Menjahit Busana",
        description="Belajar membuat pola, memotong kain, dan menjahit kemeja serta rok.",
        institution=other_institution("y", "LPK Y"),
    )
    assert check() == 3

    assert Training.objects.filter(near_duplicate_checked=True).count() == 3
    assert not Training.objects.filter(flag_near_duplicate=True).exists()
    # The same text in the same category by another institution is found, so the check did run.
    assert flags.near_duplicates(
        flags.Text(
            other_category.category, "LPK Z", other_category.title, other_category.description
        )
    ) == {other_category.pk}
    assert flags.near_duplicates(
        flags.Text(different.category, "LPK Z", different.title, different.description)
    ) == {different.pk}


def test_rewriting_the_copy_clears_both_flags(platform: Partner):
    original = publish(platform, "a-1")
    copy = publish(platform, "b-1", institution=other_institution("lpk-tiru", "LPK Tiruan"))
    check()
    assert Training.objects.filter(flag_near_duplicate=True).count() == 2

    publish(
        platform,
        "b-1",
        title="Kopi Manual Brew untuk Pemula",
        description="V60, french press, dan aeropress: teknik seduh manual dari nol.",
        institution=other_institution("lpk-tiru", "LPK Tiruan"),
    )

    assert Training.objects.get(pk=original.pk).flag_near_duplicate is False
    assert Training.objects.get(pk=copy.pk).flag_near_duplicate is False


def test_a_copy_whose_institution_takes_the_originals_name_clears_both_flags(platform: Partner):
    """The copy's old text is compared with its old institution name: the original it matched
    then is checked again and, now of the same institution name, no longer flagged."""
    original = publish(platform, "a-1")
    copy = publish(platform, "b-1", institution=other_institution("lpk-tiru", "LPK Tiruan"))
    check()
    assert Training.objects.filter(flag_near_duplicate=True).count() == 2

    publish(
        platform,
        "b-1",
        description=DESCRIPTION + " Sertifikat.",
        institution=other_institution("lpk-tiru", "LPK Kopi Nusantara"),
    )

    assert Training.objects.get(pk=original.pk).flag_near_duplicate is False
    assert Training.objects.get(pk=copy.pk).flag_near_duplicate is False


def test_withdrawing_the_copy_clears_the_originals_flag_unless_another_copy_remains(
    platform: Partner,
):
    original = publish(platform, "a-1")
    publish(platform, "b-1", institution=other_institution("tiru-1", "LPK Tiruan Satu"))
    publish(platform, "c-1", institution=other_institution("tiru-2", "LPK Tiruan Dua"))
    check()

    training_withdraw(platform=platform, external_id="b-1", actor=PMO)
    assert Training.objects.get(pk=original.pk).flag_near_duplicate is True

    training_withdraw(platform=platform, external_id="c-1", actor=PMO)
    assert Training.objects.get(pk=original.pk).flag_near_duplicate is False


def test_similarity_is_jaccard_over_three_word_shingles():
    text = " ".join(f"kata{i}" for i in range(100))  # with the title: 101 words, 99 shingles
    one_word_changed = text.replace("kata50 ", "lain ")  # 3 shingles differ
    ten_words_changed = " ".join(f"lain{i}" if i % 10 == 5 else f"kata{i}" for i in range(100))

    a = flags.shingles("Judul", text)
    assert flags.similarity(a, a) == 1.0
    assert flags.similarity(a, flags.shingles("Judul", one_word_changed)) == 96 / 102
    assert flags.similarity(a, flags.shingles("Judul", ten_words_changed)) < 0.9
    assert flags.similarity(a, frozenset()) == 0.0
    assert flags.words("Kursus  Barista — Édisi #2!") == ["kursus", "barista", "edisi", "2"]


def test_near_duplicates_in_a_catalog_of_2700_templated_trainings_take_a_few_queries(
    platform: Partner, django_assert_max_num_queries: Any
):
    """A platform's trainings share its template sentences (a Jaccard similarity near 0.5 to one
    another): the check reads only the trainings that share a band key with the new text."""
    institutions = Institution.objects.bulk_create(
        Institution(platform=platform, external_id=f"lpk-{i}", name=f"LPK {i}") for i in range(100)
    )
    template = (
        "Peserta belajar langsung dari instruktur berpengalaman, mengerjakan tugas mingguan, "
        "mendapat umpan balik, menyusun portofolio, dan menerima sertifikat setelah lulus ujian "
        "akhir yang disusun bersama mitra industri"
    )
    trainings = Training.objects.bulk_create(
        Training(
            platform=platform,
            external_id=f"t-{i}",
            institution=institutions[i % 100],
            title=f"Pelatihan nomor {i}",
            category="Kuliner",
            description=f"{template}. Kelas {i} " + " ".join(f"kata{i}x{j}" for j in range(10)),
            price_idr=100_000,
            price_outside_program_idr=100_000,
            duration_hours=4,
            sessions=2,
            delivery="self_paced",
            url="https://platform.example/",
            content_hash=str(i),
        )
        for i in range(2_700)
    )
    flags.text_bands_store(trainings)
    text = flags.Text("Kuliner", "LPK Baru", "Pelatihan nomor baru", f"{template}. Kelas baru")
    theirs = {t.pk: flags.shingles(t.title, t.description) for t in trainings}
    mine = flags.shingles(text.title, text.description)
    assert max(flags.similarity(mine, s) for s in theirs.values()) > 0.5

    with django_assert_max_num_queries(1):
        found = flags.near_duplicates(text)
    copy_of_7 = flags.Text("Kuliner", "LPK Baru", trainings[7].title, trainings[7].description)
    with django_assert_max_num_queries(1):
        copies = flags.near_duplicates(copy_of_7)
    with django_assert_max_num_queries(15):
        training = publish(platform, "new-1")

    assert (found, copies) == (set(), {trainings[7].pk})
    with django_assert_max_num_queries(15):
        assert check() == 1
    assert Training.objects.get(pk=training.pk).flag_near_duplicate is False


def test_the_indexed_check_finds_exactly_the_texts_at_or_above_the_threshold(platform: Partner):
    """Variants of one 300-word text with 0 to 30 words replaced (similarities from 1 down to
    about 0.5), each by another institution: near_duplicates returns exactly those whose Jaccard
    similarity to the original is at least 0.9, as a comparison with every training would."""
    base = [f"kata{i}" for i in range(300)]
    variants = {}
    for changed in range(31):
        words = [
            f"ganti{changed}x{i}" if i % 10 == 1 and i // 10 < changed else w
            for i, w in enumerate(base)
        ]
        variants[changed] = publish(
            platform,
            f"v-{changed}",
            title="Judul",
            description=" ".join(words),
            institution=other_institution(f"lpk-{changed}", f"LPK Varian {changed}"),
        )
    original = flags.shingles("Judul", " ".join(base))
    expected = {
        t.pk
        for t in variants.values()
        if flags.similarity(original, flags.shingles(t.title, t.description))
        >= flags.NEAR_DUPLICATE_SIMILARITY
    }
    text = flags.Text("Kuliner", "LPK Asli", "Judul", " ".join(base))
    assert check() == 31

    found = flags.near_duplicates(text)

    assert found == expected
    # k words replaced: (299 - 3k) / (299 + 3k) shingles in common, at least 0.9 up to k = 5
    assert {variants[n].pk for n in range(6)} == expected


# --- the admin ----------------------------------------------------------------------------------------


@pytest.fixture
def pmo_client(client: Client) -> Client:
    user = User.objects.create_superuser("kurator", "kurator@prakerja.example", "rahasia-panjang-1")
    operator_login(client, user)
    return client


def act(client: Client, action: str, trainings: list[Training], reason: str = "") -> list[str]:
    response = client.post(
        reverse("admin:catalog_training_changelist"),
        {
            "action": action,
            "_selected_action": [t.pk for t in trainings],
            "reason": reason,
            "index": 0,
        },
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def test_the_admin_lists_trainings_with_their_flags_and_filters(
    platform: Partner, pmo_client: Client
):
    publish(platform, price_idr=950_000)

    page = pmo_client.get(
        reverse("admin:catalog_training_changelist") + "?flag_price_above_outside__exact=1"
    )

    assert page.status_code == 200
    text = page.content.decode()
    assert "Menjadi Barista Profesional" in text
    assert "Rp950.000" in text and "Rp900.000" in text
    assert (
        pmo_client.get(
            reverse("admin:catalog_training_change", args=[Training.objects.get().pk])
        ).status_code
        == 200
    )
    assert pmo_client.get(reverse("admin:catalog_institution_changelist")).status_code == 200


def test_admin_actions_go_through_the_review_service(platform: Partner, pmo_client: Client):
    first = publish(platform, "a-1")
    second = publish(platform, "b-1", institution=other_institution("x", "LPK X"))

    assert act(pmo_client, "approve", [first]) == ["1 training(s) approved."]
    assert act(pmo_client, "suspend", [first], reason="Rating rendah") == [
        "1 training(s) suspended."
    ]
    assert act(pmo_client, "reinstate", [first]) == ["1 training(s) reinstated."]
    assert act(pmo_client, "reject", [second], reason="Materi tidak sesuai") == [
        "1 training(s) rejected."
    ]

    assert list(Training.objects.order_by("pk").values_list("status", "status_reason")) == [
        ("active", ""),
        ("rejected", "Materi tidak sesuai"),
    ]
    assert (
        AuditEvent.objects.filter(
            event_type="training.reviewed", actor_label="user:kurator"
        ).count()
        == 4
    )


def test_an_admin_rejection_without_a_reason_is_refused_and_changes_nothing(
    platform: Partner, pmo_client: Client
):
    training = publish(platform)
    before = snapshot()

    messages = act(pmo_client, "reject", [training], reason="")

    assert len(messages) == 1
    assert messages[0].startswith(
        f"“Menjadi Barista Profesional” (#{training.pk}): VALIDATION_FAILED"
    )
    assert "reason: REQUIRED" in messages[0]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("permissions", "may_review"),
    [
        ((), False),
        (("view_training",), False),
        (("view_training", "change_training"), True),
    ],
    ids=["staff-without-catalog-rights", "viewer", "curator"],
)
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_only_curators_review_in_the_admin(
    platform: Partner, client: Client, permissions: tuple[str, ...], may_review: bool, decision: str
):
    from django.contrib.auth.models import Permission

    user = User.objects.create_user("staf", "staf@prakerja.example", "rahasia-panjang-1")
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="catalog", codename__in=permissions)
    )
    operator_login(client, user)
    training = publish(platform)
    before = snapshot()

    response = client.post(
        reverse("admin:catalog_training_changelist"),
        {"action": decision, "_selected_action": [training.pk], "reason": "alasan", "index": 0},
    )

    if may_review:
        assert response.status_code == 302
        assert (
            Training.objects.get().status == {"approve": "active", "reject": "rejected"}[decision]
        )
    else:
        # Without view rights the list is forbidden; a viewer's page offers no such action.
        assert response.status_code == (200 if permissions else 403)
        assert snapshot() == before
