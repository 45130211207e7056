"""The set-based entry points of the order path, for batch work (the national simulation, Celery
chunks, `prakerja bench orders`): purchases, redemptions and completions a chunk at a time, a few
statements per chunk instead of a dozen per item. Each per-request service (orders/services.py) is
the one-item call of its entry point here, so both apply one set of rules (orders/rules.py).

A refused item does not refuse the chunk: each entry point returns what it did per item (by the
item's position in the chunk) and the refusals (common.refusals.Refused), each with the error the
per-request service raises for it. What differs from per-request calls, on purpose: one `actor`
for the chunk; one ledger memo per chunk (`transactions_post_bulk` takes one); the audit events
and outbox events of a chunk carry the chunk's time.

Events go through `partners.outbox.events_publish_many`, audit events through
`audit.services.audit_record_many`, each one INSERT from a JSON row set rather than the ORM's
`bulk_create`, which on PostgreSQL sends one array per column that psycopg builds value by value.
See docs/benchmarks.md, "orders", for where the time of a chunk goes.
"""

from prakerja.common.refusals import Refused
from prakerja.orders.chunks import CHUNK_MAX, BulkOutcome
from prakerja.orders.completion import Completion, orders_complete_bulk
from prakerja.orders.purchase import BulkPurchase, Purchased, orders_purchase_bulk
from prakerja.orders.redemption import vouchers_redeem_bulk

__all__ = [
    "CHUNK_MAX",
    "BulkOutcome",
    "BulkPurchase",
    "Completion",
    "Purchased",
    "Refused",
    "orders_complete_bulk",
    "orders_purchase_bulk",
    "vouchers_redeem_bulk",
]
