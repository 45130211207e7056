"""HTTP adapter to the SMS gateway (the sandbox in the demo and tests, a provider in production)."""

from prakerja.integrations.http_client import HttpClient
from prakerja.integrations.sms.gateway import SmsUnavailable


class HttpSmsGateway(HttpClient):
    """`SmsGateway` over HTTP. A refusal (4xx) is our bug or bad data, so it is a ValueError that
    retrying would not fix; everything that may pass (timeout, no connection, 5xx) is
    `SmsUnavailable`, which callers retry later."""

    label = "SMS gateway"

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(base_url, timeout=timeout)

    def send(self, *, to: str, text: str, reference: str) -> str:
        body = {"to": to, "text": text, "reference": reference}
        response = self._request("POST", "/v1/messages", body, unreachable=SmsUnavailable)
        self._answer_checked(response, unavailable=SmsUnavailable)
        try:
            return str(response.json()["message_id"])
        except (ValueError, KeyError, TypeError) as error:
            # A 2xx without an id leaves us unsure whether it was sent; the reference makes a retry
            # safe, so treat it like an outage.
            raise SmsUnavailable(f"SMS gateway answer without message_id: {error!r}") from error
