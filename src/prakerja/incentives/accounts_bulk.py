"""Payment accounts for many items at once: the one implementation of linking an account and of
recording an account inquiry. `payment_account_link` and `payment_account_check`
(incentives/accounts.py) are their one-item calls; batch work (the national simulation links
~20.000 accounts at scale 0.01) sends chunks.

`payment_accounts_link_bulk` refuses by `_link_refusal` (with accounts.account_number_kept), unlinks
the current account (REPLACED, with its `account.unlinked` event) and writes the audit events; it
does not ask the institution. `payment_accounts_check_bulk` asks the institutions about accounts
being checked, concurrently and outside any transaction (each inquiry is an HTTP call), then records
the answers set-based, and for the verified ones releases the account holds and grants the
incentives (`entitlements_after_accounts_verified`). `payment_accounts_unlink` is the one unlink
(a replaced account, a phone change).

One `actor` per call; a chunk's rows and audit events carry the chunk's time; a participant id that
does not exist is refused as NOT_FOUND (the per-item service is given a participant object and
cannot meet one). Each chunk is one transaction; a refused item changes nothing and does not refuse
the chunk.
"""

import datetime
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connection, transaction

from prakerja.audit.services import AuditNew, audit_record_many
from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.bulk_sql import among, db_time, json_rows
from prakerja.common.crypto import decrypt
from prakerja.common.errors import ApplicationError, NotFound, ValidationFailed
from prakerja.common.refusals import Refused
from prakerja.incentives.accounts import account_number_kept
from prakerja.incentives.entitlements import entitlements_after_accounts_verified
from prakerja.incentives.errors import InstitutionUnknown, ParticipantNotEntitled
from prakerja.incentives.institutions import INSTITUTIONS, account_type_of
from prakerja.incentives.models import CURRENT_ACCOUNT, PaymentAccount, PaymentAccountStatus
from prakerja.integrations.bank import AccountInquiry, BankClient, BankError, bank_client
from prakerja.partners.models import Partner, PartnerKind, PartnerStatus
from prakerja.partners.outbox import events_publish_many
from prakerja.waves.models import Participant, ParticipantStatus

logger = logging.getLogger(__name__)

CHUNK_MAX = 1_000  # items per transaction: the chunk's participants and accounts stay locked

ACCOUNTS = PaymentAccount._meta.db_table
SUBJECT = PaymentAccount._meta.label_lower

Link = tuple[int, str, str]  # participant id, institution code, account number as typed


# --- links -----------------------------------------------------------------------------------------


def payment_accounts_link_bulk(*, links: Sequence[Link], actor: Actor) -> list[int | Refused]:
    """`payment_account_link` without the inquiry, for (participant id, institution code, account
    number) items in order: each answered with its new account's id, or refused as the per-item
    service refuses it after the earlier items — NOT_FOUND (no such participant),
    INSTITUTION_UNKNOWN, VALIDATION_FAILED (account_number), MEMBERSHIP_NOT_ACTIVE. The current
    account is unlinked (REPLACED), also one linked by an earlier item of the same participant.
    The accounts are left `checking`: `payment_accounts_check_bulk` asks the institutions."""
    answers: list[int | Refused] = []
    for start in range(0, len(links), CHUNK_MAX):
        with transaction.atomic():
            answers += _link_chunk(list(links[start : start + CHUNK_MAX]), start, actor)
    return answers


def _link_chunk(links: list[Link], offset: int, actor: Actor) -> list[int | Refused]:
    now = clock.now()
    institutions = {
        partner.code: partner
        for partner in Partner.objects.filter(
            code__in=sorted({code for _, code, _ in links} & set(INSTITUTIONS)),
            kind=PartnerKind.INSTITUTION,
            status=PartnerStatus.ACTIVE,
        )
    }
    # Participants, then their current accounts, locked in id order as payment_account_link
    # locks them.
    participants = {
        person.pk: person
        for person in Participant.objects.select_for_update(of=("self",))
        .select_related("registrant")
        .filter(pk__in=sorted({participant_id for participant_id, _, _ in links}))
        .order_by("pk")
    }
    current: dict[int, dict[str, Any]] = {
        row["participant_id"]: dict(row)
        for row in PaymentAccount.objects.select_for_update()
        .filter(participant_id__in=sorted(participants), status__in=CURRENT_ACCOUNT)
        .order_by("pk")
        .values("pk", "participant_id", "institution_id", "account_type", "account_number")
    }

    answers: list[int | Refused | None] = [None] * len(links)
    # Accepted items by round: the n-th accepted link of a participant goes in round n, so within
    # a round each participant has one new account and replaces the one before it.
    rounds: list[list[tuple[int, Participant, Partner, str, str]]] = []
    seen: dict[int, int] = {}
    for index, (participant_id, code, raw_number) in enumerate(links):
        person = participants.get(participant_id)
        refusal = _link_refusal(person, participant_id, institutions.get(code), code, raw_number)
        if isinstance(refusal, ApplicationError):
            answers[index] = Refused(offset + index, refusal)
            continue
        assert person is not None
        partner, account_type, number = institutions[code], *refusal
        turn = seen.get(participant_id, 0)
        seen[participant_id] = turn + 1
        if turn == len(rounds):
            rounds.append([])
        rounds[turn].append((index, person, partner, account_type, number))

    audit: dict[int, list[AuditNew]] = {}  # item index -> its audit events, in order
    unlinked_events: list[tuple[int, str, dict[str, Any]]] = []
    for accepted in rounds:
        replaced = [current[p.pk] for _, p, _, _, _ in accepted if p.pk in current]
        _unlink_write([row["pk"] for row in replaced], "REPLACED", now)
        new_ids = _accounts_insert(
            [(p.pk, partner.pk, kind, number) for _, p, partner, kind, number in accepted], now
        )
        for index, person, partner, account_type, number in accepted:
            events = audit.setdefault(index, [])
            old = current.get(person.pk)
            if old is not None:
                outbox, audited = _unlink_news(old, "REPLACED", actor)
                unlinked_events.append(outbox)
                events.append(audited)
            pk = new_ids[person.pk]
            events.append(
                AuditNew(
                    actor,
                    "payment_account.linked",
                    SUBJECT,
                    str(pk),
                    {"institution": partner.code, "account_type": account_type},
                )
            )
            answers[index] = pk
            current[person.pk] = {
                "pk": pk,
                "participant_id": person.pk,
                "institution_id": partner.pk,
                "account_type": account_type,
                "account_number": number,
            }
    events_publish_many(event_type="account.unlinked", events=unlinked_events, now=now)
    audit_record_many(
        occurred_at=now, events=[event for index in sorted(audit) for event in audit[index]]
    )
    assert all(answer is not None for answer in answers)
    return answers  # type: ignore[return-value]


def payment_accounts_unlink(
    *, accounts: Sequence[Mapping[str, Any]], reason: str, actor: Actor
) -> int:
    """Unlink current accounts (rows with pk, institution_id, account_type, account_number, locked
    by the caller, in its transaction) with `reason`: each ends now, its institution is told
    (`account.unlinked`) and the change audited. Returns how many."""
    now = clock.now()
    _unlink_write([row["pk"] for row in accounts], reason, now)
    news = [_unlink_news(row, reason, actor) for row in accounts]
    events_publish_many(
        event_type="account.unlinked", events=[outbox for outbox, _ in news], now=now
    )
    audit_record_many(occurred_at=now, events=[audited for _, audited in news])
    return len(accounts)


def _unlink_write(account_ids: list[int], reason: str, now: datetime.datetime) -> None:
    if account_ids:
        PaymentAccount.objects.filter(pk__in=among(account_ids)).update(
            status=PaymentAccountStatus.UNLINKED, reason_code=reason, ended_at=now
        )


def _unlink_news(
    row: Mapping[str, Any], reason: str, actor: Actor
) -> tuple[tuple[int, str, dict[str, Any]], AuditNew]:
    """What an unlinked account tells: its institution's `account.unlinked` event and the audit
    event."""
    outbox = (
        row["institution_id"],
        f"account-{row['pk']}",
        {
            "account_type": row["account_type"],
            "account_number": row["account_number"],
            "reason": reason,
        },
    )
    audited = AuditNew(
        actor, "payment_account.unlinked", SUBJECT, str(row["pk"]), {"reason": reason}
    )
    return outbox, audited


def _link_refusal(
    person: Participant | None,
    participant_id: int,
    institution: Partner | None,
    code: str,
    raw_number: str,
) -> ApplicationError | tuple[str, str]:
    """The error payment_account_link raises for this item, in its order of checks, or the
    account's (type, normalised number)."""
    if person is None:
        return NotFound(details={"participant_id": participant_id})
    if institution is None:
        return InstitutionUnknown(details={"institution": code})
    account_type = account_type_of(code)
    try:
        number = account_number_kept(person, account_type, raw_number)
    except ValidationFailed as error:
        return error
    if person.status != ParticipantStatus.ACTIVE:
        return ParticipantNotEntitled(details={"status": person.status})
    return account_type, number


def _accounts_insert(
    rows: list[tuple[int, int, str, str]], now: datetime.datetime
) -> dict[int, int]:
    """New `checking` accounts, at most one per participant: participant id -> account id."""
    table, param = json_rows(
        (
            ("participant_id", "bigint"),
            ("institution_id", "bigint"),
            ("account_type", "text"),
            ("account_number", "text"),
        ),
        [list(row) for row in rows],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ACCOUNTS} (participant_id, institution_id, account_type, "  # noqa: S608
            "account_number, status, reason_code, holder_name, kyc_level, created_at, "
            "checked_at, ended_at) "
            "SELECT r.participant_id, r.institution_id, r.account_type, r.account_number, %s, "
            f"'', '', '', %s, NULL, NULL FROM {table} AS r RETURNING id, participant_id",
            [PaymentAccountStatus.CHECKING, db_time(now), *param],
        )
        return {participant_id: pk for pk, participant_id in cursor.fetchall()}


# --- inquiries -------------------------------------------------------------------------------------


def payment_accounts_check_bulk(*, account_ids: Sequence[int], workers: int = 8) -> int:
    """`payment_account_check` for many accounts: those still `checking` are asked about, up to
    `workers` inquiries at once (HTTP only in the threads: no database work there), then per chunk
    the answers are recorded in one transaction — verified, or rejected with the reason — and the
    verified accounts' participants have their account holds released and their incentives
    granted. An account the institution did not answer about stays `checking` (asked again by
    `payment_accounts_check_due`); one unlinked or replaced meanwhile is left as it is. Returns
    how many accounts were verified or rejected."""
    wanted = sorted(set(account_ids))
    checked = 0
    for start in range(0, len(wanted), CHUNK_MAX):
        checked += _check_chunk(wanted[start : start + CHUNK_MAX], workers)
    return checked


Ask = tuple[int, BankClient, str, str, str]  # account id, client, type, number, the holder's NIK


def _check_chunk(account_ids: list[int], workers: int) -> int:
    """Ask the institutions about a chunk of accounts being checked. Unit of work: the inquiries
    run before any transaction (in `workers` threads); their answers are written in one
    transaction per chunk."""
    accounts = list(
        PaymentAccount.objects.filter(pk__in=account_ids, status=PaymentAccountStatus.CHECKING)
        .order_by("pk")
        .values_list(
            "pk",
            "institution__code",
            "account_type",
            "account_number",
            "participant__registrant__nik_encrypted",
        )
    )
    if not accounts:
        return 0
    # Clients and NIKs are resolved here: the threads only wait on the institutions.
    clients = {code: bank_client(code) for code in sorted({row[1] for row in accounts})}
    asks: list[Ask] = [
        (pk, clients[code], account_type, number, decrypt(nik))
        for pk, code, account_type, number, nik in accounts
    ]
    if len(asks) == 1:  # a web request's one account: no thread to start
        answers = [_inquire(asks[0])]
    else:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(asks)))) as pool:
            answers = list(pool.map(_inquire, asks))
    answered = {pk: answer for (pk, *_), answer in zip(asks, answers, strict=True) if answer}
    if not answered:
        return 0
    now = clock.now()
    with transaction.atomic():
        still = dict(
            PaymentAccount.objects.select_for_update()
            .filter(pk__in=sorted(answered), status=PaymentAccountStatus.CHECKING)
            .order_by("pk")
            .values_list("pk", "participant_id")
        )
        if not still:
            return 0
        inquirer = Actor.system("account-inquiry")
        rows: list[list[Any]] = []
        events: list[AuditNew] = []
        verified: list[int] = []
        for pk in sorted(still):
            answer = answered[pk]
            reason = answer.reason_code or ""
            status = PaymentAccountStatus.REJECTED if reason else PaymentAccountStatus.VERIFIED
            rows.append([pk, status, reason, answer.holder_name or "", answer.kyc_level or ""])
            events.append(
                AuditNew(
                    inquirer,
                    f"payment_account.{status}",
                    SUBJECT,
                    str(pk),
                    {"reason_code": reason, "kyc_level": answer.kyc_level or ""},
                )
            )
            if not reason:
                verified.append(still[pk])
        _outcomes_write(rows, now)
        audit_record_many(occurred_at=now, events=events)
        entitlements_after_accounts_verified(participant_ids=verified)
    return len(rows)


def _inquire(ask: Ask) -> AccountInquiry | None:
    """One inquiry, in a worker thread: the answer, or None when the institution did not give
    one (asked again later)."""
    pk, client, account_type, number, nik = ask
    try:
        return client.account_inquiry(account_type, number, nik)
    except BankError as error:
        logger.info("account %s: inquiry not answered (%s); asked again later", pk, error)
        return None


def _outcomes_write(rows: list[list[Any]], now: datetime.datetime) -> None:
    """The answers on the accounts, in one UPDATE: a rejected account ends when checked."""
    table, param = json_rows(
        (
            ("id", "bigint"),
            ("status", "text"),
            ("reason_code", "text"),
            ("holder_name", "text"),
            ("kyc_level", "text"),
        ),
        rows,
    )
    stamp = db_time(now)
    # The stamp is cast so PostgreSQL types both branches of the CASE alike.
    moment = "CAST(%s AS timestamptz)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ACCOUNTS} SET status = r.status, reason_code = r.reason_code, "  # noqa: S608
            f"holder_name = r.holder_name, kyc_level = r.kyc_level, checked_at = {moment}, "
            f"ended_at = CASE WHEN r.reason_code <> '' THEN {moment} ELSE NULL END "
            f"FROM {table} AS r WHERE {ACCOUNTS}.id = r.id",
            [stamp, stamp, *param],
        )
        if cursor.rowcount != len(rows):
            raise RuntimeError(f"updated {cursor.rowcount} accounts, not {len(rows)}")
