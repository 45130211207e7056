"""Orders, one request at a time: the purchase of a training, its voucher's redemption on the
platform that sold it, the platform's progress and completion reports (program.md §4, §7;
partner-api.md, "Digital platforms"). The views, the partner API and the sandboxes call these names.

Each is the one-item call of its set-based entry point (orders/purchase.py, redemption.py,
completion.py), so the rules, the statements and the lock order are those of the batch work; the
progress report, which has no twin, shares its checks through orders/rules.py. The daily jobs are
in orders/daily.py.

Money moves only through the ledger, in the same transaction as the order's change:

    purchase    TRAINING_BALANCE(participant) → PLATFORM_PENDING(platform)   order-purchase:{order}
    redemption  PLATFORM_PENDING(platform)    → PLATFORM_PAYABLE(platform)   order-redeem:{order}

An order's status changes only by orders/rules.py TRANSITIONS.
"""

from prakerja.orders.completion import order_complete
from prakerja.orders.progress import order_progress_report
from prakerja.orders.pseudonyms import participant_ref, participant_ref_of
from prakerja.orders.purchase import order_purchase
from prakerja.orders.redemption import voucher_redeem, voucher_status
from prakerja.orders.rules import (
    CERTIFICATE_NUMBER_MAX,
    CERTIFICATE_URL_MAX,
    PLATFORM_USER_REF_MAX,
    SESSIONS_MAX,
    TRANSITIONS,
    balance_lapsed,
    voucher_expiry,
)

__all__ = [
    "CERTIFICATE_NUMBER_MAX",
    "CERTIFICATE_URL_MAX",
    "PLATFORM_USER_REF_MAX",
    "SESSIONS_MAX",
    "TRANSITIONS",
    "balance_lapsed",
    "order_complete",
    "order_progress_report",
    "order_purchase",
    "participant_ref",
    "participant_ref_of",
    "voucher_expiry",
    "voucher_redeem",
    "voucher_status",
]
