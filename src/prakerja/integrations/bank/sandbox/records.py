"""The institution's vocabulary and its records: accounts, instructions, transfers, batches."""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prakerja.common.timeutil import WIB

API_PATH = "/api/partner/v1"
VIRTUAL_ACCOUNT_INSTITUTIONS = frozenset({"bni"})
MODES = ("sync", "async")
KYC_LEVELS = ("basic", "upgraded")
ACCOUNT_STATUSES = ("active", "inactive")
# Ids travel in callback paths: a safe alphabet keeps the signed path identical on both sides.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
ID_RULE = "1 to 64 characters: letters, digits, '.', '_', ':', '-'"
ACCOUNT_PATTERN = re.compile(r"^[^\s/]{1,64}$")
NIK_PATTERN = re.compile(r"^[0-9]{16}$")
MAX_DESCRIPTION = 255
STATEMENT_HEADER = ("instruction_id", "amount_idr", "status", "partner_reference")


@dataclass(slots=True)
class Account:
    account_type: str
    account_number: str
    nik: str
    holder_name: str
    kyc_level: str = "upgraded"
    status: str = "active"
    phone_changed: bool = False
    # A fault pinned on one account: every transfer into it fails with this reason code (a name
    # changed at the institution: NIK_MISMATCH; a full wallet: LIMIT_REACHED; TEMPORARY_FAILURE).
    fail_reason: str = ""

    def refusal(self) -> str | None:
        """Why the book refuses a payment into this account, or None."""
        if self.fail_reason:
            return self.fail_reason
        if self.status != "active":
            return "ACCOUNT_INACTIVE"
        if self.phone_changed:
            return "PHONE_CHANGED"
        if self.account_type == "e_wallet" and self.kyc_level != "upgraded":
            return "NOT_UPGRADED"
        return None


@dataclass(frozen=True, slots=True)
class Instruction:
    instruction_id: str
    account_number: str
    amount_idr: int
    description: str


@dataclass(slots=True)
class Transfer:
    instruction_id: str
    account_number: str
    amount_idr: int
    description: str
    received_at: str
    reason_code: str | None  # None: success
    partner_reference: str
    settle_ts: float  # epoch seconds; until then the transfer is "accepted"
    settled_at: str  # ISO 8601 in WIB
    accepted_first: bool  # the first answer said "accepted" (async mode at receipt)

    @property
    def outcome(self) -> str:
        return "success" if self.reason_code is None else "failed"

    def result(self) -> dict[str, Any]:
        """The settled outcome, as batch results and callbacks carry it."""
        return {
            "instruction_id": self.instruction_id,
            "status": self.outcome,
            "reason_code": self.reason_code,
            "settled_at": self.settled_at,
            "partner_reference": self.partner_reference,
        }

    def answer(self, now: float) -> dict[str, Any]:
        """The outcome as known at `now`: "accepted" until it settles."""
        if now >= self.settle_ts:
            return self.result()
        return self.accepted()

    def accepted(self) -> dict[str, Any]:
        return {
            "instruction_id": self.instruction_id,
            "status": "accepted",
            "reason_code": None,
            "settled_at": None,
            "partner_reference": self.partner_reference,
        }


@dataclass(slots=True)
class BatchRecord:
    content: tuple[tuple[str, str, int], ...]
    answer: dict[str, Any]
    instruction_ids: list[str]


def wib_iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, WIB).isoformat(timespec="seconds")
