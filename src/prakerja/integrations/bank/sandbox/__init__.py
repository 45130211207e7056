"""`prakerja sandbox bank --name ovo`: one financial institution as a real HTTP service, speaking
the institution's side of partner-api.md ("Financial institutions"). `bni` holds virtual accounts,
every other name (linkaja, ovo, gopay) e-wallets keyed by phone number. State lives in memory only.

The system's calls (bank/client.py is its adapter):

    POST /account-inquiry {account_type, account_number, nik}
        200 {holder_name, nik_match, kyc_level, status}  |  404 ACCOUNT_NOT_FOUND
    POST /transfers {instruction_id, account_number, amount_idr, description}
        200 {instruction_id, status, reason_code, settled_at, partner_reference}
        409 INSTRUCTION_ID_REUSED (the id came before with another account or amount)
    POST /transfer-batches {batch_id, control_count, control_sum_idr, instructions: [≤ 1000]}
        200 {batch_id, accepted, rejected: [{instruction_id, reason_code}]}
        422 CONTROL_TOTALS_MISMATCH, refused whole, nothing recorded
        409 BATCH_ID_REUSED (the batch id came before with other instructions)
    GET  /transfers/{instruction_id}       the answer of POST /transfers  |  404 TRANSFER_NOT_FOUND
    GET  /transfer-batches/{batch_id}      {batch_id, results: [{instruction_id, status,
                                           reason_code, settled_at, partner_reference}]}
                                           |  404 BATCH_NOT_FOUND
    GET  /statements/{yyyy-mm-dd}[.csv]    transfers settled (success or failed) that WIB day

Errors have the partner API's shape {"error": {"code", "message", "details"}}; a malformed body is
422 VALIDATION_FAILED. An instruction id is the idempotency key: a re-sent instruction never pays
twice and answers the instruction's current outcome (a failed one stays failed: a retry after a fix
needs a new id). A re-sent batch id with the same instructions answers the first answer.

Outcome of a transfer: from the account book first (unknown account ACCOUNT_NOT_FOUND, inactive
ACCOUNT_INACTIVE, `phone_changed` PHONE_CHANGED, e-wallet with KYC `basic` NOT_UPGRADED), then from
the bank faults' `fail_rates`, chosen by a hash of (seed, instruction_id), so a run repeats with the
same seed and a re-sent instruction meets the same fate.

Bank faults (GET|POST /_bank_faults, and CLI flags at start), besides the shared ones of /_faults:
    mode                      sync: the answer carries success/failed; async: the answer says
                              accepted and the outcome settles callback_delay_ms later
    fail_rates                {REASON_CODE: share}, shares summing to at most 1
    callback_batch            one callback per batch instead of one per instruction
    duplicate_callback_rate   share of callbacks sent twice (each with its own X-EXTERNAL-ID)
    late_callback_rate, late_callback_ms   share of callbacks sent that much after settlement
    lost_callback_rate        share of callbacks never sent (the outcome stays queryable)
    lost_answer_rate          share of new transfers and batches recorded but answered only by a
                              504 after hang_s: the caller's timeout fires, the outcome is unknown
    callback_retries, callback_retry_ms    retries of a callback answered 5xx or unreachable
    accept_unknown_accounts   pay accounts missing from the book as if active and upgraded

Callbacks go to the system (--system-url) for every outcome the HTTP answer did not carry: async
single transfers and every instruction of a batch. They are signed as a partner's call
(prakerja.partners.signing) by the partner code --partner (default: the name) with --secret, else
PRAKERJA_BANK_SANDBOX_SECRET_<NAME>, else the partner's secret in the system's database:

    POST /api/partner/v1/transfers/{instruction_id}/result
         {status, reason_code, settled_at, partner_reference}
    POST /api/partner/v1/transfer-batches/{batch_id}/results
         {results: [{instruction_id, status, reason_code, settled_at, partner_reference}]}

Control plane, never touched by faults, so tests and operators can look during an outage:

    POST /_accounts {accounts: [{account_type, account_number, nik, holder_name, kyc_level,
                    status, phone_changed}]}   adds or replaces accounts in bulk
    GET  /_accounts/{account_number}
    GET  /_totals    {success_count, success_sum_idr, failed_count, by_reason, accepted_count,
                     received_count}
    GET  /_callbacks {pending, scheduled, delivered, refused, retried, given_up, lost, late,
                     duplicated, last_error}
    GET  /_clock     {now, offset_s}: the sandbox's clock (real time unless set)
    POST /_clock     {now: ISO 8601 with offset}: date transfers and statements from then on (a
                     simulation of 2020 keeps the institution on its calendar)
    POST /_reset     forgets transfers, batches and pending callbacks and puts the clock back;
                     the accounts too with {"accounts": true}
    GET  /           a page of the latest transfers

The package: records.py (vocabulary and records), faults.py, books.py (the institution's state),
callbacks.py, parsing.py (reading requests), app.py, routes.py (create_app and the routes),
page.py, cli.py (`prakerja sandbox bank`'s options and build_app).
"""

from prakerja.integrations.bank.sandbox.app import (
    BankConfig,
    BankSandboxApp,
    institution_account_type,
)
from prakerja.integrations.bank.sandbox.books import Bank
from prakerja.integrations.bank.sandbox.callbacks import CallbackSender, Notifier, SignedPoster
from prakerja.integrations.bank.sandbox.cli import (
    add_arguments,
    build_app,
    default_port,
    faults_from_options,
)
from prakerja.integrations.bank.sandbox.faults import BankFaults
from prakerja.integrations.bank.sandbox.routes import create_app

__all__ = [
    "Bank",
    "BankConfig",
    "BankFaults",
    "BankSandboxApp",
    "CallbackSender",
    "Notifier",
    "SignedPoster",
    "add_arguments",
    "build_app",
    "create_app",
    "default_port",
    "faults_from_options",
    "institution_account_type",
]
