"""The incentive services one by one: account inquiry outcomes, the phone change, exclusions
re-checked at a run, surveys, and two makers preparing one date at once."""

import datetime

import pytest
from django.utils import timezone

from prakerja.common.actors import Actor
from prakerja.common.errors import FieldsDisagree, ValidationFailed
from prakerja.common.timeutil import WIB
from prakerja.incentives.accounts import (
    PhoneNotRegistered,
    payment_account_link,
    payment_accounts_phone_changed,
)
from prakerja.incentives.errors import (
    InstitutionUnknown,
    RunExists,
    SurveyAlreadySubmitted,
    SurveyNotOpen,
)
from prakerja.incentives.models import (
    DisbursementRun,
    Entitlement,
    PaymentAccount,
    SurveyResponse,
    TransferInstruction,
)
from prakerja.incentives.runs import run_prepare
from prakerja.incentives.surveys import SurveyAnswersMismatch, survey_submit, surveys_open
from prakerja.ledger.models import AccountKind
from prakerja.ledger.selectors import ledger_integrity_report
from prakerja.partners.models import OutboundEvent
from prakerja.registration.models import ExclusionEntry
from prakerja.waves.models import ProgramScheme
from tests.incentives.kit import (
    MAKER,
    balance,
    completed_and_reviewed,
    link,
    months_ahead,
    sandbox_bank,
    statuses,
    wallet,
)
from tests.ledger.test_concurrency import run_at_once
from tests.orders.kit import scheme_valid_for_a_year

ANSWERS = {
    "employment_status": "employee",
    "training_helped": "yes",
    "training_effective": "yes",
}


@pytest.fixture
def spendable() -> None:
    scheme_valid_for_a_year()


@pytest.mark.django_db
@pytest.mark.usefixtures("spendable")
@pytest.mark.parametrize(
    ("book", "reason"),
    [
        ({"nik": "3201010101010001"}, "NIK_MISMATCH"),
        ({"kyc_level": "basic"}, "NOT_UPGRADED"),
        ({"status": "inactive"}, "ACCOUNT_INACTIVE"),
        (None, "ACCOUNT_NOT_FOUND"),
    ],
)
def test_an_account_the_institution_refuses_is_rejected_with_the_reason_and_grants_nothing(
    monkeypatch, book, reason
):
    (person,) = completed_and_reviewed(1)
    with sandbox_bank("ovo", monkeypatch) as bank:
        if book is not None:
            bank.add_accounts([wallet(person, **book)])
        account = link(person, bank)
    assert (account.status, account.reason_code) == ("rejected", reason)
    assert Entitlement.objects.count() == 0
    assert balance(AccountKind.INCENTIVE_PAYABLE) == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("spendable")
def test_an_institution_that_does_not_answer_leaves_the_account_being_checked(monkeypatch):
    (person,) = completed_and_reviewed(1)
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(person)])
        bank.control("POST", "/_faults", {"outage": True})
        account = link(person, bank)
        assert account.status == "checking"
        bank.control("POST", "/_faults", {"outage": False})
        from prakerja.incentives.accounts import payment_account_check

        assert payment_account_check(account=account).status == "verified"
    assert statuses() == {"due": 4}


@pytest.mark.django_db
@pytest.mark.usefixtures("spendable")
def test_refused_links_change_nothing(monkeypatch):
    (person,) = completed_and_reviewed(1)
    actor = Actor.participant(person.registrant_id)
    with sandbox_bank("ovo", monkeypatch):
        for institution, number, error in [
            ("dana", person.registrant.phone, InstitutionUnknown),
            ("ovo", "0812", ValidationFailed),  # no account number of any kind
            ("ovo", "8808123456789012", FieldsDisagree),  # a virtual account's, not a phone
            ("ovo", "081299998888", PhoneNotRegistered),  # not the registered phone
        ]:
            with pytest.raises(error) as refused:
                payment_account_link(
                    participant=person,
                    institution_code=institution,
                    account_number=number,
                    actor=actor,
                )
            assert type(refused.value) is error
    assert PaymentAccount.objects.count() == 0
    assert OutboundEvent.objects.filter(event_type="account.unlinked").count() == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("spendable")
def test_a_phone_change_unlinks_the_wallet_holds_what_is_unpaid_and_tells_the_institution(
    monkeypatch,
):
    (person,) = completed_and_reviewed(1)
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(person)])
        link(person, bank)
    unlinked = payment_accounts_phone_changed(
        registrant_id=person.registrant_id, actor=Actor.participant(person.registrant_id)
    )
    assert unlinked == 1
    account = PaymentAccount.objects.get()
    assert (account.status, account.reason_code) == ("unlinked", "PHONE_CHANGED")
    assert statuses() == {"held:PHONE_CHANGED": 4}
    event = OutboundEvent.objects.get(event_type="account.unlinked")
    assert (event.partner_id, event.payload["data"]["reason"]) == (bank.partner.pk, "PHONE_CHANGED")


@pytest.mark.django_db
@pytest.mark.usefixtures("spendable")
def test_a_run_holds_the_entitlements_of_a_participant_excluded_after_selection(monkeypatch):
    first, second = completed_and_reviewed(2)
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(first), wallet(second)])
        link(first, bank)
        link(second, bank)
    ExclusionEntry.objects.create(nik_index=second.registrant.nik_index, category="civil_servant")

    run = run_prepare(run_date=months_ahead(4), actor=MAKER)

    assert run.instructions_count == 4
    assert set(
        TransferInstruction.objects.values_list("entitlement__participant_id", flat=True)
    ) == {first.pk}
    assert (
        sorted(Entitlement.objects.filter(participant=second).values_list("status", "hold_reason"))
        == [("held", "EXCLUDED")] * 4
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("spendable")
def test_a_run_takes_the_oldest_due_first_up_to_the_capacity(monkeypatch):
    people = completed_and_reviewed(3)
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(p) for p in people])
        for person in people:
            link(person, bank)
    ProgramScheme.objects.filter(code="2020").update(daily_disbursement_capacity=5)
    run = run_prepare(run_date=months_ahead(4), actor=MAKER)
    chosen = list(
        TransferInstruction.objects.order_by("entitlement__due_on", "entitlement_id").values_list(
            "entitlement__sequence", flat=True
        )
    )
    assert (run.instructions_count, chosen) == (5, [1, 1, 1, 2, 2])
    assert run.batches.get().control_sum_idr == 3_000_000


@pytest.mark.django_db
@pytest.mark.usefixtures("spendable")
def test_surveys_open_with_the_incentives_and_pay_once(monkeypatch):
    (person,) = completed_and_reviewed(1)
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(person)])
        link(person, bank)
    actor = Actor.participant(person.registrant_id)
    assert surveys_open(person) == [1]
    with pytest.raises(SurveyNotOpen):
        survey_submit(participant=person, sequence=2, answers=ANSWERS, actor=actor)
    with pytest.raises(SurveyAnswersMismatch) as refused:
        survey_submit(
            participant=person,
            sequence=1,
            answers={"employment_status": "astronaut", "extra": "x"},
            actor=actor,
        )
    assert refused.value.details == {
        "employment_status": "CHOICE_INVALID",
        "training_helped": "REQUIRED",
        "training_effective": "REQUIRED",
        "extra": "UNKNOWN_QUESTION",
    }
    assert SurveyResponse.objects.count() == 0

    survey_submit(participant=person, sequence=1, answers=ANSWERS, actor=actor)
    with pytest.raises(SurveyAlreadySubmitted):
        survey_submit(participant=person, sequence=1, answers=ANSWERS, actor=actor)
    survey = Entitlement.objects.get(kind="survey")
    assert (survey.sequence, survey.amount_idr, survey.status) == (1, 50_000, "due")
    assert balance(AccountKind.INCENTIVE_PAYABLE) == 4 * 600_000 + 50_000
    assert surveys_open(person) == []
    assert ledger_integrity_report().ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgres_only")
def test_two_makers_preparing_one_date_at_once_one_proceeds(monkeypatch):
    scheme, _ = ProgramScheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )
    ProgramScheme.objects.filter(pk=scheme.pk).update(
        balance_expiry_date=timezone.localdate(timezone=WIB) + datetime.timedelta(days=365)
    )
    people = completed_and_reviewed(2)
    with sandbox_bank("ovo", monkeypatch) as bank:
        bank.add_accounts([wallet(p) for p in people])
        for person in people:
            link(person, bank)
    day = months_ahead(1)

    def prepare(index: int) -> str:
        try:
            run_prepare(run_date=day, actor=Actor(kind="user", id=900 + index, label=f"u{index}"))
        except RunExists:
            return "RUN_EXISTS"
        return "prepared"

    assert sorted(run_at_once(2, prepare).elements()) == ["RUN_EXISTS", "prepared"]
    assert DisbursementRun.objects.count() == 1
    assert TransferInstruction.objects.count() == 4
