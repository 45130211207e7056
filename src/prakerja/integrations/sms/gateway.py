"""The SMS gateway's one interface, and its one failure."""

from typing import Protocol


class SmsUnavailable(Exception):
    """The gateway did not accept the message (timeout, 5xx): try again later."""


class SmsGateway(Protocol):
    def send(self, *, to: str, text: str, reference: str) -> str:
        """Send `text` to the E.164 number `to`; returns the gateway's message id. `reference` is our
        idempotency key: the same reference twice sends one message."""
        ...
