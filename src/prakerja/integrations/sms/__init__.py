"""Adapter to the SMS gateway. `sms_gateway()` is what services call: the HTTP client
(`client.HttpSmsGateway`) at PRAKERJA_SMS_URL, served in the demo by `prakerja sandbox sms`;
tests may swap in another implementation with `use_sms_gateway(...)`."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Protocol


class SmsUnavailable(Exception):
    """The gateway did not accept the message (timeout, 5xx): try again later."""


class SmsGateway(Protocol):
    def send(self, *, to: str, text: str, reference: str) -> str:
        """Send `text` to the E.164 number `to`; returns the gateway's message id. `reference` is our
        idempotency key: the same reference twice sends one message."""
        ...


_override: SmsGateway | None = None


def sms_gateway() -> SmsGateway:
    if _override is not None:
        return _override
    from prakerja.config import env

    return _http_gateway(env.get("PRAKERJA_SMS_URL"), float(env.get("PRAKERJA_ADAPTER_TIMEOUT_S")))


@lru_cache(maxsize=4)
def _http_gateway(base_url: str, timeout: float) -> SmsGateway:
    """One HTTP client (and its connection pool) per process and URL."""
    from prakerja.integrations.sms.client import HttpSmsGateway

    return HttpSmsGateway(base_url, timeout=timeout)


@contextmanager
def use_sms_gateway(gateway: SmsGateway) -> Iterator[SmsGateway]:
    global _override
    previous, _override = _override, gateway
    try:
        yield gateway
    finally:
        _override = previous
