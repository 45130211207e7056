"""The institution's books: accounts, transfers and batches in memory, under one lock."""

import hashlib
import itertools
import threading
from collections import Counter
from typing import Any

from prakerja.integrations.bank.sandbox.faults import BankFaults, drawn_share, injected_reason
from prakerja.integrations.bank.sandbox.records import (
    Account,
    BatchRecord,
    Instruction,
    Transfer,
    wib_iso,
)


class Bank:
    """Accounts, transfers and batches of one institution; every method is thread-safe."""

    def __init__(self, name: str, account_type: str, seed: int) -> None:
        self.name = name
        self.account_type = account_type
        self.seed = seed
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        self._transfers: dict[str, Transfer] = {}
        self._batches: dict[str, BatchRecord] = {}

    def add_accounts(self, accounts: list[Account]) -> int:
        with self._lock:
            self._accounts.update((a.account_number, a) for a in accounts)
            return len(self._accounts)

    def account(self, account_number: str) -> Account | None:
        with self._lock:
            return self._accounts.get(account_number)

    def inquire(self, account_type: str, account_number: str, nik: str) -> dict[str, Any] | None:
        with self._lock:
            account = self._accounts.get(account_number)
        if account is None or account.account_type != account_type:
            return None
        return {
            "holder_name": account.holder_name,
            "nik_match": account.nik == nik,
            "kyc_level": account.kyc_level,
            "status": account.status,
        }

    def transfer(
        self, item: Instruction, faults: BankFaults, now: float
    ) -> tuple[Transfer | None, bool]:
        """(the transfer, whether it is new); (None, False) when the id was used for another
        payment."""
        with self._lock:
            return self._receive(item, faults, now)

    def batch(
        self, batch_id: str, items: list[Instruction], faults: BankFaults, now: float
    ) -> tuple[BatchRecord | None, list[Transfer], bool]:
        """(the batch, its new transfers, whether the batch is new); None as the batch when its
        id came before with other instructions."""
        content = tuple((i.instruction_id, i.account_number, i.amount_idr) for i in items)
        with self._lock:
            known = self._batches.get(batch_id)
            if known is not None:
                return (known if known.content == content else None), [], False
            new: list[Transfer] = []
            rejected: list[dict[str, str]] = []
            ids: dict[str, None] = {}  # an ordered set
            for item in items:
                transfer, created = self._receive(item, faults, now)
                if transfer is None:
                    rejected.append(
                        {
                            "instruction_id": item.instruction_id,
                            "reason_code": "INSTRUCTION_ID_REUSED",
                        }
                    )
                    continue
                if created:
                    new.append(transfer)
                ids[item.instruction_id] = None
            answer = {
                "batch_id": batch_id,
                "accepted": len(items) - len(rejected),
                "rejected": rejected,
            }
            record = BatchRecord(content, answer, list(ids))
            self._batches[batch_id] = record
            return record, new, True

    def _receive(
        self, item: Instruction, faults: BankFaults, now: float
    ) -> tuple[Transfer | None, bool]:
        known = self._transfers.get(item.instruction_id)
        if known is not None:
            same = (known.account_number, known.amount_idr) == (
                item.account_number,
                item.amount_idr,
            )
            return (known if same else None), False
        settle_ts = now + faults.callback_delay_ms / 1000 if faults.mode == "async" else now
        transfer = Transfer(
            instruction_id=item.instruction_id,
            account_number=item.account_number,
            amount_idr=item.amount_idr,
            description=item.description,
            received_at=wib_iso(now),
            reason_code=self._decide(item, faults),
            partner_reference=self._reference(item.instruction_id),
            settle_ts=settle_ts,
            settled_at=wib_iso(settle_ts),
            accepted_first=faults.mode == "async",
        )
        self._transfers[item.instruction_id] = transfer
        return transfer, True

    def _decide(self, item: Instruction, faults: BankFaults) -> str | None:
        account = self._accounts.get(item.account_number)
        if account is None:
            if not faults.accept_unknown_accounts:
                return "ACCOUNT_NOT_FOUND"
        else:
            refusal = account.refusal()
            if refusal is not None:
                return refusal
        if not faults.fail_rates:
            return None
        return injected_reason(
            drawn_share(self.seed, "fail", item.instruction_id), faults.fail_rates
        )

    def _reference(self, instruction_id: str) -> str:
        digest = hashlib.blake2b(
            f"{self.seed}:reference:{instruction_id}".encode(), digest_size=6
        ).hexdigest()
        return f"{self.name.upper()}-{digest.upper()}"

    def status(self, instruction_id: str) -> Transfer | None:
        with self._lock:
            return self._transfers.get(instruction_id)

    def batch_results(self, batch_id: str, now: float) -> list[dict[str, Any]] | None:
        with self._lock:
            record = self._batches.get(batch_id)
            if record is None:
                return None
            transfers = [self._transfers[i] for i in record.instruction_ids]
        return [t.answer(now) for t in transfers]

    def statement(self, day: str, now: float) -> list[Transfer]:
        with self._lock:
            lines = [
                t
                for t in self._transfers.values()
                if t.settle_ts <= now and t.settled_at.startswith(day)
            ]
        lines.sort(key=lambda t: (t.settle_ts, t.instruction_id))
        return lines

    def totals(self, now: float) -> dict[str, Any]:
        success_count = success_sum = failed_count = accepted = 0
        by_reason: Counter[str] = Counter()
        with self._lock:
            for t in self._transfers.values():
                if t.settle_ts > now:
                    accepted += 1
                elif t.reason_code is None:
                    success_count += 1
                    success_sum += t.amount_idr
                else:
                    failed_count += 1
                    by_reason[t.reason_code] += 1
            received = len(self._transfers)
        return {
            "success_count": success_count,
            "success_sum_idr": success_sum,
            "failed_count": failed_count,
            "by_reason": dict(sorted(by_reason.items())),
            "accepted_count": accepted,
            "received_count": received,
        }

    def recent(self, limit: int) -> list[Transfer]:
        with self._lock:
            return list(itertools.islice(reversed(self._transfers.values()), limit))

    def reset(self, *, accounts: bool = False) -> None:
        with self._lock:
            self._transfers.clear()
            self._batches.clear()
            if accounts:
                self._accounts.clear()
