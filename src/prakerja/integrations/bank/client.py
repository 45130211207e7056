"""The adapter the system uses to talk to a financial institution (a bank holding virtual accounts,
or an e-wallet keyed by phone number) per partner-api.md, "Financial institutions". In the demo and
the tests the institution is `prakerja sandbox bank --name …` (bank/sandbox.py).

    client = bank_client("ovo")                      # from PRAKERJA_BANK_URLS
    client.account_inquiry("e_wallet", "+6281234567890", nik).reason_code   # None: payable
    client.transfer("pay-1", "+6281234567890", amount_idr, "Insentif Kartu Prakerja")
    client.transfer_batch("run-7-ovo-1", [TransferInstruction(...), ...])

What an error tells the caller it may do next:

    BankUnavailable     nothing was received (no connection, the 503 of an outage): send the
                        same instruction again later, under the same instruction id.
    BankOutcomeUnknown  the institution may have acted (timeout after sending, another 5xx, an
                        unreadable answer): ask `transfer_status` / `batch_results` (or re-send
                        under the same id, which never pays twice) before anything else.
    BankRefused         a 4xx: the request itself is wrong (an instruction id reused for another
                        payment, a malformed body); sending it again will not help.

Reads (inquiry, status, results, statements) move no money, so any failure of theirs is
BankUnavailable.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import httpx

from prakerja.config import env
from prakerja.integrations.http_client import HttpClient

REASON_CODES = (
    "NIK_MISMATCH",
    "NOT_UPGRADED",
    "ACCOUNT_INACTIVE",
    "ACCOUNT_NOT_FOUND",
    "LIMIT_REACHED",
    "PHONE_CHANGED",
    "TEMPORARY_FAILURE",
)
ACCOUNT_TYPES = ("virtual_account", "e_wallet")
MAX_BATCH = 1000


class BankError(Exception):
    """Any failure of a call to an institution."""


class BankUnavailable(BankError):
    """Nothing was received: safe to send again later under the same instruction id."""


class BankOutcomeUnknown(BankError):
    """The transfer may or may not have happened: query it before sending anything again."""


class BankRefused(BankError):
    """The institution refused the request itself (4xx); `code` is its error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        super().__init__(f"{status} {code}: {message}")


@dataclass(frozen=True)
class AccountInquiry:
    found: bool
    holder_name: str = ""
    nik_match: bool = False
    kyc_level: str = ""  # "basic" | "upgraded"
    status: str = ""  # "active" | "inactive"

    @property
    def reason_code(self) -> str | None:
        """Why a payment to this account would fail (one of REASON_CODES), or None if payable."""
        if not self.found:
            return "ACCOUNT_NOT_FOUND"
        if self.status != "active":
            return "ACCOUNT_INACTIVE"
        if not self.nik_match:
            return "NIK_MISMATCH"
        if self.kyc_level != "upgraded":
            return "NOT_UPGRADED"
        return None


@dataclass(frozen=True)
class TransferInstruction:
    instruction_id: str
    account_number: str
    amount_idr: int
    description: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "instruction_id": self.instruction_id,
            "account_number": self.account_number,
            "amount_idr": self.amount_idr,
            "description": self.description,
        }


@dataclass(frozen=True)
class TransferAnswer:
    instruction_id: str
    status: str  # "accepted" (outcome follows) | "success" | "failed"
    reason_code: str | None = None
    settled_at: datetime.datetime | None = None
    partner_reference: str | None = None

    @property
    def settled(self) -> bool:
        return self.status in ("success", "failed")


@dataclass(frozen=True)
class Rejection:
    instruction_id: str
    reason_code: str


@dataclass(frozen=True)
class BatchAnswer:
    batch_id: str
    accepted: int
    rejected: tuple[Rejection, ...]


@dataclass(frozen=True)
class StatementLine:
    instruction_id: str
    amount_idr: int
    status: str
    partner_reference: str


class BankClient(HttpClient):
    def __init__(
        self,
        base_url: str,
        timeout_s: float = 10.0,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout_s, transport=transport)
        self.label = self.base_url

    def account_inquiry(self, account_type: str, account_number: str, nik: str) -> AccountInquiry:
        """Who holds the account, whether `nik` is theirs, its KYC level and status."""
        body = {"account_type": account_type, "account_number": account_number, "nik": nik}
        response = self._call("POST", "/account-inquiry", body, moves_money=False)
        if response.status_code == 404 and _error_code(response) == "ACCOUNT_NOT_FOUND":
            return AccountInquiry(found=False)
        data = self._answer(response, moves_money=False)
        try:
            return AccountInquiry(
                found=True,
                holder_name=str(data["holder_name"]),
                nik_match=bool(data["nik_match"]),
                kyc_level=str(data["kyc_level"]),
                status=str(data["status"]),
            )
        except (KeyError, TypeError) as error:
            raise BankUnavailable(f"unreadable inquiry answer: {error!r}") from error

    def transfer(
        self, instruction_id: str, account_number: str, amount_idr: int, description: str = ""
    ) -> TransferAnswer:
        """Send one payment. Sending the same instruction id again never pays twice: it answers
        the instruction's current outcome."""
        instruction = TransferInstruction(instruction_id, account_number, amount_idr, description)
        response = self._call("POST", "/transfers", instruction.as_json(), moves_money=True)
        return _transfer_answer(self._answer(response, moves_money=True), BankOutcomeUnknown)

    def transfer_batch(
        self, batch_id: str, instructions: Sequence[TransferInstruction]
    ) -> BatchAnswer:
        """Send up to MAX_BATCH payments at once; the outcomes follow by callback or by
        `batch_results`. Sending the same batch again answers its first answer."""
        if not 1 <= len(instructions) <= MAX_BATCH:
            raise ValueError(
                f"a batch holds 1 to {MAX_BATCH} instructions, not {len(instructions)}"
            )
        body = {
            "batch_id": batch_id,
            "control_count": len(instructions),
            "control_sum_idr": sum(item.amount_idr for item in instructions),
            "instructions": [item.as_json() for item in instructions],
        }
        data = self._answer(
            self._call("POST", "/transfer-batches", body, moves_money=True), moves_money=True
        )
        try:
            return BatchAnswer(
                batch_id=str(data["batch_id"]),
                accepted=int(data["accepted"]),
                rejected=tuple(
                    Rejection(str(item["instruction_id"]), str(item["reason_code"]))
                    for item in data["rejected"]
                ),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise BankOutcomeUnknown(f"unreadable batch answer: {error!r}") from error

    def transfer_status(self, instruction_id: str) -> TransferAnswer | None:
        """The instruction's current outcome, or None when the institution never received it
        (then sending it is safe)."""
        response = self._call("GET", f"/transfers/{_segment(instruction_id)}", moves_money=False)
        if response.status_code == 404 and _error_code(response) == "TRANSFER_NOT_FOUND":
            return None
        return _transfer_answer(self._answer(response, moves_money=False), BankUnavailable)

    def batch_results(self, batch_id: str) -> list[TransferAnswer] | None:
        """The current outcome of every instruction the batch carried, or None when the batch
        never arrived."""
        response = self._call("GET", f"/transfer-batches/{_segment(batch_id)}", moves_money=False)
        if response.status_code == 404 and _error_code(response) == "BATCH_NOT_FOUND":
            return None
        data = self._answer(response, moves_money=False)
        try:
            return [_transfer_answer(item, BankUnavailable) for item in data["results"]]
        except (KeyError, TypeError) as error:
            raise BankUnavailable(f"unreadable batch results: {error!r}") from error

    def statement(self, date: datetime.date) -> list[StatementLine]:
        """The transfers the institution settled on `date` (WIB), for reconciliation."""
        response = self._call("GET", f"/statements/{date.isoformat()}", moves_money=False)
        data = self._answer(response, moves_money=False)
        try:
            return [
                StatementLine(
                    instruction_id=str(line["instruction_id"]),
                    amount_idr=int(line["amount_idr"]),
                    status=str(line["status"]),
                    partner_reference=str(line["partner_reference"]),
                )
                for line in data["lines"]
            ]
        except (KeyError, TypeError, ValueError) as error:
            raise BankUnavailable(f"unreadable statement: {error!r}") from error

    def _call(
        self, method: str, path: str, body: Any = None, *, moves_money: bool
    ) -> httpx.Response:
        unknown = BankOutcomeUnknown if moves_money else BankUnavailable
        response = self._request(method, path, body, unreachable=BankUnavailable, lost=unknown)
        if response.status_code == 503:
            raise BankUnavailable(f"{self.base_url} is unavailable (503)")
        if response.status_code >= 500:
            raise unknown(f"{method} {path} answered {response.status_code}")
        return response

    def _answer(self, response: httpx.Response, *, moves_money: bool) -> Any:
        if response.status_code >= 400:
            raise BankRefused(
                response.status_code, _error_code(response) or "UNKNOWN", response.text[:500]
            )
        return self._json(
            response, unreadable=BankOutcomeUnknown if moves_money else BankUnavailable
        )


def _segment(value: str) -> str:
    return quote(value, safe="")


def _error_code(response: httpx.Response) -> str | None:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return None
    return str(error["code"]) if isinstance(error, dict) and "code" in error else None


def _transfer_answer(data: Any, unreadable: type[BankError]) -> TransferAnswer:
    try:
        settled_at = data.get("settled_at")
        reference = data.get("partner_reference")
        reason = data.get("reason_code")
        return TransferAnswer(
            instruction_id=str(data["instruction_id"]),
            status=str(data["status"]),
            reason_code=str(reason) if reason else None,
            settled_at=datetime.datetime.fromisoformat(settled_at) if settled_at else None,
            partner_reference=str(reference) if reference else None,
        )
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise unreadable(f"unreadable transfer answer: {error!r}") from error


def bank_urls() -> dict[str, str]:
    """PRAKERJA_BANK_URLS as {institution code: base URL}."""
    urls: dict[str, str] = {}
    for item in env.get_list("PRAKERJA_BANK_URLS"):
        code, separator, url = item.partition("=")
        if not separator or not code.strip() or not url.strip():
            raise ValueError(f"PRAKERJA_BANK_URLS: {item!r} is not code=url")
        urls[code.strip()] = url.strip()
    return urls


@lru_cache(maxsize=16)
def _client_for(base_url: str, timeout_s: float) -> BankClient:
    return BankClient(base_url, timeout_s=timeout_s)


def bank_client(institution_code: str) -> BankClient:
    """The client of one institution, from PRAKERJA_BANK_URLS; one per URL and process, so
    connections are pooled. KeyError for an institution without a URL."""
    urls = bank_urls()
    if institution_code not in urls:
        raise KeyError(f"no URL for institution {institution_code!r} in PRAKERJA_BANK_URLS")
    return _client_for(urls[institution_code], float(env.get("PRAKERJA_ADAPTER_TIMEOUT_S")))
