"""HTTP adapter to the SMS gateway (the sandbox in the demo and tests, a provider in production)."""

from types import TracebackType

import httpx

from prakerja.integrations.sms import SmsUnavailable


class HttpSmsGateway:
    """`SmsGateway` over HTTP. A refusal (4xx) is our bug or bad data, so it is a ValueError that
    retrying would not fix; everything that may pass (timeout, no connection, 5xx) is
    `SmsUnavailable`, which callers retry later."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def send(self, *, to: str, text: str, reference: str) -> str:
        try:
            response = self._client.post(
                "/v1/messages", json={"to": to, "text": text, "reference": reference}
            )
        except httpx.TransportError as error:  # timeouts, refused connections, dropped sockets
            raise SmsUnavailable(f"SMS gateway unreachable: {error!r}") from error
        if response.status_code >= 500:
            raise SmsUnavailable(
                f"SMS gateway answered {response.status_code}: {response.text[:500]}"
            )
        if response.status_code >= 400:
            raise ValueError(
                f"SMS gateway refused the message ({response.status_code}): {response.text}"
            )
        try:
            return str(response.json()["message_id"])
        except (ValueError, KeyError, TypeError) as error:
            # A 2xx without an id leaves us unsure whether it was sent; the reference makes a retry
            # safe, so treat it like an outage.
            raise SmsUnavailable(f"SMS gateway answer without message_id: {error!r}") from error

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "HttpSmsGateway":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
