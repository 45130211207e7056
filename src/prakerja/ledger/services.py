"""The only code that moves money. Every function here is one database transaction."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from prakerja.common import clock
from prakerja.common.actors import Actor
from prakerja.common.errors import (
    AlreadyReversed,
    IdempotencyKeyReused,
    InsufficientBalance,
    NotFound,
    ValidationFailed,
)
from prakerja.common.money import require_rupiah
from prakerja.ledger import bulk_sql
from prakerja.ledger.models import (
    MAY_GO_NEGATIVE,
    SYSTEM_KINDS,
    Account,
    AccountKind,
    Balance,
    Leg,
    Transaction,
)

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Posting:
    """One transaction to post: its idempotency key and its legs as (account id, signed amount)."""

    idempotency_key: str
    legs: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class PostResult:
    transaction: Transaction
    created: bool


@dataclass(frozen=True)
class BulkResult:
    created: int
    skipped: int  # keys already posted: replays change nothing


# --- accounts -------------------------------------------------------------------------------------


def account_get_or_create(*, kind: AccountKind, owner_id: int | None = None) -> Account:
    """The account of `kind` for `owner_id` (None for the program's own accounts), with its
    balance row."""
    _check_owner(kind, has_owner=owner_id is not None)
    existing = Account.objects.filter(kind=kind, owner_id=owner_id).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            account = Account.objects.create(kind=kind, owner_id=owner_id)
            Balance.objects.create(account=account, may_go_negative=kind in MAY_GO_NEGATIVE)
            return account
    except IntegrityError:  # created meanwhile by a concurrent caller
        return Account.objects.get(kind=kind, owner_id=owner_id)


def accounts_ensure(*, kind: AccountKind, owner_ids: Iterable[int]) -> dict[int, int]:
    """Bulk form for batch work: make sure each owner has an account of `kind`.
    Returns owner id -> account id."""
    _check_owner(kind, has_owner=True)
    wanted = sorted(set(owner_ids))
    found: dict[int, int] = {}
    for start in range(0, len(wanted), bulk_sql.CHUNK):
        with transaction.atomic():
            found.update(
                bulk_sql.ensure_accounts(
                    kind=kind,
                    owner_ids=wanted[start : start + bulk_sql.CHUNK],
                    may_go_negative=kind in MAY_GO_NEGATIVE,
                    created_at=clock.now(),
                )
            )
    return found


def _check_owner(kind: AccountKind, *, has_owner: bool) -> None:
    if kind not in AccountKind.values:
        raise ValidationFailed(details={"kind": f"unknown account kind {kind!r}"})
    if (kind in SYSTEM_KINDS) == has_owner:
        rule = "have no owner" if kind in SYSTEM_KINDS else "need an owner"
        raise ValidationFailed(details={"owner_id": f"{kind} accounts {rule}"})


# --- posting --------------------------------------------------------------------------------------


def transaction_post(
    *,
    idempotency_key: str,
    kind: str,
    legs: Sequence[tuple[int, int]],
    actor: Actor,
    memo: str = "",
    reverses: Transaction | None = None,
) -> PostResult:
    """Post one balanced transaction. The same key again returns the first transaction unchanged;
    the same key with other legs is refused (IDEMPOTENCY_KEY_REUSED). No account but the budget can
    go below zero: a spend the balance does not cover is refused (INSUFFICIENT_BALANCE) and writes
    nothing, also when several requests spend one balance at once."""
    ordered = _validated(idempotency_key, legs)
    with transaction.atomic():
        existing = Transaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return PostResult(_same_or_refuse(existing, kind, ordered), created=False)
        try:
            with transaction.atomic():  # savepoint: a racing insert of the key fails alone
                posted = Transaction.objects.create(
                    idempotency_key=idempotency_key,
                    kind=kind,
                    memo=memo[:200],
                    actor=actor.label,
                    reverses=reverses,
                )
        except IntegrityError:
            if reverses is not None and Transaction.objects.filter(reverses=reverses).exists():
                raise AlreadyReversed(details={"transaction_id": reverses.pk}) from None
            first = Transaction.objects.get(idempotency_key=idempotency_key)
            return PostResult(_same_or_refuse(first, kind, ordered), created=False)
        Leg.objects.bulk_create(
            [
                Leg(transaction=posted, account_id=account, amount=amount)
                for account, amount in ordered
            ]
        )
        # Conditional updates in account-id order: the row lock serialises concurrent spenders and
        # the WHERE clause, re-checked after the lock, refuses a spend the balance no longer covers.
        for account_id, amount in ordered:
            updated = (
                Balance.objects.filter(account_id=account_id)
                .filter(Q(amount__gte=-amount) | Q(may_go_negative=True))
                .update(amount=F("amount") + amount)
            )
            if updated != 1:
                _raise_not_covered(account_id, amount)
    return PostResult(posted, created=True)


def transfer(
    *,
    idempotency_key: str,
    kind: str,
    from_account_id: int,
    to_account_id: int,
    amount: int,
    actor: Actor,
    memo: str = "",
) -> PostResult:
    require_rupiah(amount)
    if amount <= 0:
        raise ValidationFailed(details={"amount": "must be a positive number of rupiah"})
    return transaction_post(
        idempotency_key=idempotency_key,
        kind=kind,
        legs=[(from_account_id, -amount), (to_account_id, amount)],
        actor=actor,
        memo=memo,
    )


def transaction_reverse(*, transaction_id: int, actor: Actor, reason: str) -> PostResult:
    """Undo a transaction with a new one of opposite legs. A transaction is reversed at most once;
    asking again returns the first reversal."""
    original = Transaction.objects.filter(pk=transaction_id).first()
    if original is None:
        raise NotFound(details={"transaction_id": transaction_id})
    legs = [(leg.account_id, -leg.amount) for leg in original.legs.all()]
    return transaction_post(
        idempotency_key=f"reversal-of:{original.pk}",
        kind="reversal",
        legs=legs,
        actor=actor,
        memo=reason,
        reverses=original,
    )


def transactions_post_bulk(
    *, kind: str, postings: Sequence[Posting], actor: Actor, memo: str = ""
) -> BulkResult:
    """Post a chunk of transactions in a few set-based statements (batch work: crediting a wave).

    All or nothing: if any account would go below zero the whole chunk is refused. Keys already
    posted are skipped, so a chunk re-run after a crash credits nobody twice. Give it chunks of a
    few thousand postings; several workers may post disjoint chunks at once.
    """
    checked = [(p.idempotency_key, _validated(p.idempotency_key, p.legs)) for p in postings]
    if len({key for key, _ in checked}) != len(checked):
        raise ValidationFailed(details={"postings": "idempotency keys repeat within the chunk"})
    for attempt in (1, 2):
        try:
            return _post_bulk_once(kind, checked, actor, memo[:200])
        except IntegrityError:
            # Another worker posted some of these keys between our read and our insert; the whole
            # chunk rolled back, and the second pass sees those keys as already posted.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _post_bulk_once(
    kind: str, checked: list[tuple[str, list[tuple[int, int]]]], actor: Actor, memo: str
) -> BulkResult:
    with transaction.atomic():
        keys = [key for key, _ in checked]
        already = bulk_sql.existing_keys(keys)
        fresh = [(key, legs) for key, legs in checked if key not in already]
        if fresh:
            ids = bulk_sql.insert_transactions(
                keys=[key for key, _ in fresh],
                kind=kind,
                memo=memo,
                actor=actor.label,
                created_at=clock.now(),
            )
            bulk_sql.insert_legs(
                (ids[key], account, amount) for key, legs in fresh for account, amount in legs
            )
            deltas: dict[int, int] = {}
            for _, legs in fresh:
                for account, amount in legs:
                    deltas[account] = deltas.get(account, 0) + amount
            refused = bulk_sql.apply_balance_deltas(deltas)
            if refused:
                account_id = refused[0]
                _raise_not_covered(account_id, deltas[account_id], refused_count=len(refused))
    return BulkResult(created=len(fresh), skipped=len(already))


# --- checks ---------------------------------------------------------------------------------------


def _validated(idempotency_key: str, legs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Legs sorted by account id, or ValidationFailed naming the first broken rule (the one to fix
    first). One pass over the legs: bulk posting calls this for every transaction of a chunk."""
    problems: dict[str, str] = {}
    if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
        problems["idempotency_key"] = f"must be 1 to {MAX_KEY_LENGTH} characters"
    total = 0
    has_zero = False
    for _account, amount in legs:
        require_rupiah(amount, field="leg amount")
        total += amount
        has_zero = has_zero or amount == 0
    for broken, problem in (
        (len(legs) < 2, "a transaction needs at least two legs"),
        (has_zero, "a leg cannot be zero"),
        (
            len({account for account, _ in legs}) != len(legs),
            "each account appears once per transaction",
        ),
        (total != 0, f"legs must sum to zero, they sum to {total}"),
    ):
        if broken:
            problems["legs"] = problem
            break
    if problems:
        raise ValidationFailed(details=problems)
    return sorted(legs)


def _same_or_refuse(
    existing: Transaction, kind: str, ordered: list[tuple[int, int]]
) -> Transaction:
    stored = sorted(existing.legs.values_list("account_id", "amount"))
    if existing.kind != kind or stored != ordered:
        raise IdempotencyKeyReused(details={"idempotency_key": existing.idempotency_key})
    return existing


def _raise_not_covered(account_id: int, amount: int, refused_count: int = 1) -> None:
    balance = Balance.objects.filter(account_id=account_id).values_list("amount", flat=True).first()
    if balance is None:
        raise NotFound(details={"account_id": account_id, "reason": "no balance row"})
    raise InsufficientBalance(
        details={
            "account_id": account_id,
            "balance_idr": balance,
            "change_idr": amount,
            "refused_accounts": refused_count,
        }
    )
