"""The request signature of partner-api.md, one definition for the server and for clients (the
sandbox platform, benchmarks, tests and partners' engineers reading this file)."""

import base64
import hashlib
import hmac


def string_to_sign(
    *, method: str, path_with_query: str, body: bytes, timestamp: str, external_id: str
) -> str:
    body_hash = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}:{path_with_query}:{body_hash}:{timestamp}:{external_id}"


def signature(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_headers(
    *,
    partner: str,
    secret: str,
    method: str,
    path_with_query: str,
    body: bytes,
    timestamp: str,
    external_id: str,
) -> dict[str, str]:
    """The four headers of a partner call."""
    text = string_to_sign(
        method=method,
        path_with_query=path_with_query,
        body=body,
        timestamp=timestamp,
        external_id=external_id,
    )
    return {
        "X-PARTNER-ID": partner,
        "X-TIMESTAMP": timestamp,
        "X-EXTERNAL-ID": external_id,
        "X-SIGNATURE": signature(secret, text),
    }
