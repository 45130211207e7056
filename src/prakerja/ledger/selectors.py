"""Reads of the ledger: balances from balance rows, and the integrity check over all of it."""

from dataclasses import dataclass

from django.db import connection

from prakerja.common.money import format_rupiah
from prakerja.ledger.models import MAY_GO_NEGATIVE, Account, AccountKind, Balance, Leg, Transaction


def balance_of(account_id: int) -> int:
    return Balance.objects.values_list("amount", flat=True).get(account_id=account_id)


def account_balance(*, kind: AccountKind, owner_id: int | None = None) -> int:
    """Balance of an owner's account of `kind`; 0 when the account does not exist yet."""
    amount = (
        Balance.objects.filter(account__kind=kind, account__owner_id=owner_id)
        .values_list("amount", flat=True)
        .first()
    )
    return amount or 0


@dataclass(frozen=True)
class IntegrityProblem:
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.detail}"


@dataclass(frozen=True)
class IntegrityReport:
    accounts: int
    transactions: int
    problems: list[IntegrityProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


def ledger_integrity_report() -> IntegrityReport:
    """Every balance row equals the sum of its account's legs, every transaction has at least two
    legs summing to zero, and only the budget may be negative. Three aggregate queries."""
    A, B, L, T = (m._meta.db_table for m in (Account, Balance, Leg, Transaction))
    negative_kinds = ", ".join(f"'{kind}'" for kind in sorted(MAY_GO_NEGATIVE))
    problems: list[IntegrityProblem] = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id, a.kind, a.owner_id, b.amount, COALESCE(s.total, 0), b.may_go_negative "  # noqa: S608
            f"FROM {A} a LEFT JOIN {B} b ON b.account_id = a.id "
            "LEFT JOIN (SELECT account_id, CAST(SUM(amount) AS BIGINT) AS total "
            f"FROM {L} GROUP BY account_id) s "
            "ON s.account_id = a.id "
            "WHERE b.account_id IS NULL OR b.amount <> COALESCE(s.total, 0) "
            f"OR (b.may_go_negative <> (a.kind IN ({negative_kinds}))) "
            f"OR (b.amount < 0 AND a.kind NOT IN ({negative_kinds})) ORDER BY a.id"
        )
        for account_id, kind, owner, balance, legs_total, may_go_negative in cursor.fetchall():
            subject = f"account #{account_id} ({kind}{'' if owner is None else f', owner {owner}'})"
            if balance is None:
                problems.append(IntegrityProblem(subject, "has no balance row"))
                continue
            if balance != legs_total:
                problems.append(
                    IntegrityProblem(
                        subject,
                        f"balance row says {format_rupiah(balance)} but its legs sum to "
                        f"{format_rupiah(legs_total)}",
                    )
                )
            if bool(may_go_negative) != (kind in MAY_GO_NEGATIVE):
                problems.append(
                    IntegrityProblem(subject, "may_go_negative flag does not fit its kind")
                )
            if balance < 0 and kind not in MAY_GO_NEGATIVE:
                problems.append(IntegrityProblem(subject, f"is negative: {format_rupiah(balance)}"))
        cursor.execute(
            "SELECT t.id, t.idempotency_key, COUNT(l.id), "  # noqa: S608
            "CAST(COALESCE(SUM(l.amount), 0) AS BIGINT) "
            f"FROM {T} t LEFT JOIN {L} l ON l.transaction_id = t.id "
            "GROUP BY t.id, t.idempotency_key "
            "HAVING COUNT(l.id) < 2 OR COALESCE(SUM(l.amount), 0) <> 0 ORDER BY t.id"
        )
        for txn_id, key, leg_count, total in cursor.fetchall():
            problems.append(
                IntegrityProblem(
                    f"transaction #{txn_id} ({key})",
                    f"has {leg_count} legs summing to {format_rupiah(total)}",
                )
            )
        cursor.execute(f"SELECT (SELECT COUNT(*) FROM {A}), (SELECT COUNT(*) FROM {T})")  # noqa: S608
        accounts, transactions = cursor.fetchone()
    return IntegrityReport(accounts=accounts, transactions=transactions, problems=problems)
