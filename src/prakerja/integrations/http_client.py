"""The one way the adapters talk to an outside service over HTTP: a pooled httpx client at the
service's base URL, closed with `close()` or a `with` block, and the failures every adapter tells
apart, each raised as the adapter's own exception (a caller only ever sees its adapter's types).

    no connection made           nothing left this process: `unreachable`, safe to send again
    no answer after sending      a timeout or a dropped connection: the service may have acted
                                 (`lost`; an adapter whose calls cannot act twice passes none)
    5xx                          may pass: `unavailable` (`_answer_checked`)
    4xx                          our request is wrong and retrying will not help: ValueError
    an answer that is not JSON   `unreadable`
"""

from typing import Any, Self

import httpx

# Failures before the connection exists: the request was never sent.
_NOT_CONNECTED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class HttpClient:
    label = "service"  # how failure messages name the service

    def __init__(
        self, base_url: str, *, timeout: float, transport: httpx.BaseTransport | None = None
    ) -> None:
        """`transport` lets tests call an in-process application."""
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        unreachable: type[Exception],
        lost: type[Exception] | None = None,
    ) -> httpx.Response:
        """The service's answer, whatever its status; `body` is sent as JSON."""
        try:
            return self._client.request(method, path, json=body)
        except _NOT_CONNECTED as error:
            raise unreachable(f"{self.label} unreachable: {error!r}") from error
        except httpx.RequestError as error:
            failed = lost or unreachable
            raise failed(f"{method} {self.label}{path} failed: {error!r}") from error

    def _answer_checked(
        self, response: httpx.Response, *, unavailable: type[Exception]
    ) -> httpx.Response:
        if response.status_code >= 500:
            raise unavailable(
                f"{self.label} answered {response.status_code}: {response.text[:500]}"
            )
        if response.status_code >= 400:
            raise ValueError(
                f"{self.label} refused the request ({response.status_code}): {response.text}"
            )
        return response

    def _json(self, response: httpx.Response, *, unreadable: type[Exception]) -> Any:
        try:
            return response.json()
        except ValueError as error:
            raise unreadable(
                f"{self.label} answered something other than JSON: {response.text[:200]!r}"
            ) from error
