"""Adapter to the financial institutions that pay participants (banks and e-wallets): account
inquiry, single and batch transfers, status queries and statements. `bank_client(code)` is what
services call; `prakerja sandbox bank --name CODE` serves a sandbox institution."""

from prakerja.integrations.bank.client import (
    ACCOUNT_TYPES,
    MAX_BATCH,
    REASON_CODES,
    AccountInquiry,
    BankClient,
    BankError,
    BankOutcomeUnknown,
    BankRefused,
    BankUnavailable,
    BatchAnswer,
    Rejection,
    StatementLine,
    TransferAnswer,
    TransferInstruction,
    bank_client,
    bank_urls,
)

__all__ = [
    "ACCOUNT_TYPES",
    "MAX_BATCH",
    "REASON_CODES",
    "AccountInquiry",
    "BankClient",
    "BankError",
    "BankOutcomeUnknown",
    "BankRefused",
    "BankUnavailable",
    "BatchAnswer",
    "Rejection",
    "StatementLine",
    "TransferAnswer",
    "TransferInstruction",
    "bank_client",
    "bank_urls",
]
