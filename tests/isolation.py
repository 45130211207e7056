"""A transaction a test opens to compare two paths from one state, rolled back at its end.

It is marked as Django's TestCase marks the transaction it wraps every test in (`_from_testcase`),
because it stands for the same thing: the test's isolation, not a caller's unit of work. So a
durable service (`transaction.atomic(durable=True)`) called inside runs as it runs at top level,
while a service nested in another service's transaction still fails as it would in production."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction


@contextmanager
def rolled_back() -> Iterator[None]:
    block = transaction.atomic()
    block._from_testcase = True  # type: ignore[attr-defined]  # Django's own marker (TestCase)
    with block:
        yield
        transaction.set_rollback(True)
