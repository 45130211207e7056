"""Adapter to the SMS gateway. `sms_gateway()` is what services call: the HTTP client
(`client.HttpSmsGateway`) at PRAKERJA_SMS_URL, served in the demo by `prakerja sandbox sms`;
tests may swap in another implementation with `use_sms_gateway(...)`."""

from functools import lru_cache
from typing import Protocol

from prakerja.integrations.seam import AdapterSeam


class SmsUnavailable(Exception):
    """The gateway did not accept the message (timeout, 5xx): try again later."""


class SmsGateway(Protocol):
    def send(self, *, to: str, text: str, reference: str) -> str:
        """Send `text` to the E.164 number `to`; returns the gateway's message id. `reference` is our
        idempotency key: the same reference twice sends one message."""
        ...


@lru_cache(maxsize=4)
def _http_client(base_url: str, timeout: float) -> SmsGateway:
    from prakerja.integrations.sms.client import HttpSmsGateway

    return HttpSmsGateway(base_url, timeout=timeout)


def _from_settings() -> SmsGateway:
    from prakerja.config import env

    return _http_client(env.get("PRAKERJA_SMS_URL"), float(env.get("PRAKERJA_ADAPTER_TIMEOUT_S")))


_seam: AdapterSeam[SmsGateway] = AdapterSeam(_from_settings)
sms_gateway = _seam.get
use_sms_gateway = _seam.use
