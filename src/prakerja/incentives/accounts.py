"""Payment accounts: a participant links a virtual account or an e-wallet, the institution confirms
it by account inquiry, and the participant is told what to fix when it does not.

The services here are the one-item calls of accounts_bulk.py's set-based paths, which apply the
rules (`account_number_kept` here, the rest in `_link_refusal` there) once for both.

The inquiry is an HTTP call: it runs after the link is committed, never inside a transaction. An
institution that does not answer leaves the account `checking`; `payment_accounts_check_due` asks
again. An e-wallet is keyed by the phone number, so it must be the participant's registered number,
and a change of that number unlinks it (`payment_accounts_phone_changed`).
"""

import datetime
import re

from django.db import transaction

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.errors import FieldsDisagree, ValidationFailed
from prakerja.common.refusals import Refused
from prakerja.incentives.models import (
    CURRENT_ACCOUNT,
    AccountType,
    PaymentAccount,
    PaymentAccountStatus,
)
from prakerja.registration.field_rules import PHONE_PATTERN
from prakerja.registration.rules import normalise_phone
from prakerja.waves.models import Participant

# What an account number looks like, whatever the institution: a virtual account's 8 to 20 digits
# or a mobile number (0812…, 62812…, +62 812…), with a space or a hyphen allowed between digits.
# Which of the two an institution takes is its kind (data: the institution's partner row), so a
# number of the other kind is FIELDS_DISAGREE (409), not a refusal of the field (422).
_VIRTUAL_ACCOUNT_TYPED = r"[0-9](?:[ -]?[0-9]){7,19}"
ACCOUNT_NUMBER_PATTERN = rf"^(?:{_VIRTUAL_ACCOUNT_TYPED}|{PHONE_PATTERN.strip('^$')})$"
INSTITUTION_CODE_PATTERN = r"^[-a-zA-Z0-9_]{1,40}$"  # a partner's code (Partner.code, a slug)
_ACCOUNT_NUMBER = re.compile(ACCOUNT_NUMBER_PATTERN)
_VIRTUAL_ACCOUNT = re.compile(r"^[0-9]{8,20}$")
RECHECK_AFTER = datetime.timedelta(minutes=1)


class PhoneNotRegistered(ValidationFailed):
    """An e-wallet number that is not the participant's registered phone: a rule of the person's
    own data, so 409 with its own code; details name the field as VALIDATION_FAILED does."""

    code = "PHONE_NOT_REGISTERED"
    http_status = 409
    message_id = "Dompet digital hanya dapat dihubungkan dengan nomor ponsel yang Anda daftarkan."
    message_en = "An e-wallet can only be linked with your registered mobile number."


def account_number_kept(participant: Participant, account_type: str, raw: str) -> str:
    """The number as kept. The code names what the institution takes (ACCOUNT_NUMBER_INVALID for
    a virtual account, PHONE_INVALID for an e-wallet); VALIDATION_FAILED when the number is no
    account number at all (ACCOUNT_NUMBER_PATTERN), FIELDS_DISAGREE when it is one of the other
    kind."""
    virtual = account_type == AccountType.VIRTUAL_ACCOUNT
    wrong = {"account_number": "ACCOUNT_NUMBER_INVALID" if virtual else "PHONE_INVALID"}
    number = (raw or "").strip()  # the portal's field as typed; the API's schema refuses blanks
    if not _ACCOUNT_NUMBER.fullmatch(number):
        raise ValidationFailed(details=wrong)
    number = number.replace(" ", "").replace("-", "")
    if virtual:
        if not _VIRTUAL_ACCOUNT.match(number):
            raise FieldsDisagree(details=wrong)
        return number
    try:
        phone = normalise_phone(number)
    except ValueError:
        raise FieldsDisagree(details=wrong) from None
    if phone != participant.registrant.phone:
        # The institution pays the wallet of this number: it must be the one the program verified.
        raise PhoneNotRegistered(details={"account_number": "PHONE_NOT_REGISTERED"})
    return phone


def payment_account_link(
    *, participant: Participant, institution_code: str, account_number: str, actor: Actor
) -> PaymentAccount:
    """Link an account in place of the current one (which is unlinked), then check it with the
    institution. Returns the account as the check left it (`checking` if the institution did not
    answer). Errors: INSTITUTION_UNKNOWN, VALIDATION_FAILED and FIELDS_DISAGREE (account_number,
    see account_number_kept), PHONE_NOT_REGISTERED, MEMBERSHIP_NOT_ACTIVE. The one-item case of
    `payment_accounts_link_bulk`, so the two cannot drift apart."""
    from prakerja.incentives.accounts_bulk import payment_accounts_link_bulk

    with transaction.atomic(durable=True):
        (answer,) = payment_accounts_link_bulk(
            links=[(participant.pk, institution_code, account_number)], actor=actor
        )
    if isinstance(answer, Refused):
        raise answer.error
    account = PaymentAccount.objects.select_related("institution", "participant__registrant")
    return payment_account_check(account=account.get(pk=answer))


def payment_account_check(*, account: PaymentAccount) -> PaymentAccount:
    """Ask the institution about an account being checked and record its answer: verified when
    the holder's NIK matches, the account is active and (an e-wallet) upgraded; else rejected with
    the reason. An institution that does not answer leaves it `checking`. The one-item case of
    `payment_accounts_check_bulk`; the inquiry runs outside any transaction."""
    from prakerja.incentives.accounts_bulk import payment_accounts_check_bulk

    if account.status != PaymentAccountStatus.CHECKING:
        return account
    payment_accounts_check_bulk(account_ids=[account.pk], workers=1)
    return PaymentAccount.objects.get(pk=account.pk)


def payment_accounts_check_due() -> int:
    """Ask again about accounts whose inquiry was not answered (hourly-safe, idempotent)."""
    from prakerja.incentives.accounts_bulk import payment_accounts_check_bulk

    due = PaymentAccount.objects.filter(
        status=PaymentAccountStatus.CHECKING, created_at__lt=clock.now() - RECHECK_AFTER
    ).values_list("pk", flat=True)
    return payment_accounts_check_bulk(account_ids=list(due))


def payment_accounts_phone_changed(*, registrant_id: int, actor: Actor) -> int:
    """The participant's phone number changed: unlink the e-wallets keyed by it (the institution is
    told: account.unlinked) and hold the unpaid entitlements with PHONE_CHANGED until an account
    is linked again. Runs in the caller's transaction. Returns the accounts unlinked."""
    from prakerja.incentives.accounts_bulk import payment_accounts_unlink
    from prakerja.incentives.entitlements import entitlements_hold

    participant = Participant.objects.filter(registrant_id=registrant_id).first()
    if participant is None:
        return 0
    wallets = list(
        PaymentAccount.objects.select_for_update()
        .filter(
            participant=participant,
            status__in=CURRENT_ACCOUNT,
            account_type=AccountType.E_WALLET,
        )
        .order_by("pk")
        .values("pk", "institution_id", "account_type", "account_number")
    )
    if wallets:
        payment_accounts_unlink(accounts=wallets, reason="PHONE_CHANGED", actor=actor)
        entitlements_hold(participant_ids=[participant.pk], reason="PHONE_CHANGED")
    return len(wallets)


def payment_account_current(participant: Participant) -> PaymentAccount | None:
    """The account being checked or verified; else the last one (rejected or unlinked), whose
    reason the portal explains."""
    return (
        PaymentAccount.objects.filter(participant=participant)
        .select_related("institution")
        .order_by("-created_at", "-pk")
        .first()
    )
