"""The sandbox institution as an app: its books, its callback sender, its bank faults and its clock."""

import time
from dataclasses import dataclass

from prakerja.integrations.bank.sandbox.books import Bank
from prakerja.integrations.bank.sandbox.callbacks import CallbackSender
from prakerja.integrations.bank.sandbox.faults import BankFaults
from prakerja.integrations.bank.sandbox.records import VIRTUAL_ACCOUNT_INSTITUTIONS
from prakerja.integrations.sandbox import Request, Response, SandboxApp


class BankSandboxApp(SandboxApp):
    """A sandbox whose control routes (paths starting "/_" other than /_faults, and the page at
    "/") answer through a second, fault-free router, so an outage or an error rate set for the
    system's calls never hides the sandbox's own books from a test or an operator."""

    def __init__(self, name: str, bank: Bank, sender: CallbackSender) -> None:
        super().__init__(name)
        self.bank = bank
        self.sender = sender
        self.bank_faults = BankFaults()
        self.control = SandboxApp(f"{name}-control")
        # Seconds added to the real clock: `POST /_clock` lets a simulation of 2020 date the
        # transfers and statements in 2020, as the system it talks to does.
        self.clock_offset_s = 0.0

    def now(self) -> float:
        return time.time() + self.clock_offset_s

    def handle(self, request: Request) -> Response:
        path = request.path
        if path == "/" or (path.startswith("/_") and path != "/_faults"):
            return self.control.handle(request)
        return super().handle(request)

    def set_bank_faults(self, faults: BankFaults) -> None:
        # One reference swap: a request in flight keeps the consistent set it read.
        self.bank_faults = faults
        self.sender.retries = faults.callback_retries
        self.sender.retry_ms = faults.callback_retry_ms

    def close(self) -> None:
        """Stop the callback threads (for tests; a sandbox process just exits)."""
        self.sender.close()


@dataclass(frozen=True)
class BankConfig:
    name: str
    account_type: str = ""  # default: virtual_account for bni, e_wallet otherwise
    seed: int = 0
    system_url: str = "http://127.0.0.1:8000"  # the system's base; callbacks go below API_PATH
    partner: str = ""  # default: the name
    secret: str = ""
    callback_workers: int = 4
    callback_timeout_s: float = 10.0


def institution_account_type(name: str) -> str:
    return "virtual_account" if name in VIRTUAL_ACCOUNT_INSTITUTIONS else "e_wallet"
