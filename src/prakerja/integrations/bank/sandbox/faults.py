"""The bank faults: what `/_bank_faults` and the command line set, and the hashed draws that pick
which transfers fail, so a run repeats with the same seed."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from prakerja.integrations.bank.client import REASON_CODES
from prakerja.integrations.bank.sandbox.records import MODES


@dataclass(frozen=True)
class BankFaults:
    mode: str = "sync"
    fail_rates: dict[str, float] = field(default_factory=dict)
    callback_delay_ms: int = 0
    callback_batch: bool = False
    duplicate_callback_rate: float = 0.0
    late_callback_rate: float = 0.0
    late_callback_ms: int = 5000
    lost_callback_rate: float = 0.0
    lost_answer_rate: float = 0.0
    hang_s: float = 30.0
    callback_retries: int = 4
    callback_retry_ms: int = 500
    accept_unknown_accounts: bool = False

    def updated(self, values: Mapping[str, Any]) -> "BankFaults":
        """A copy with `values` applied (fail_rates is replaced whole); ValueError naming the
        first bad value, and then nothing changes."""
        known = {f.name for f in fields(self)}
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown bank fault {name!r}")
            changes[name] = _checked(name, getattr(self, name), value)
        return replace(self, **changes)


def _checked(name: str, current: Any, value: Any) -> Any:
    if name == "mode":
        if value not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        return value
    if name == "fail_rates":
        return _fail_rates(value)
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number ≥ 0")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number ≥ 0")
    if name.endswith("_rate") and value > 1:
        raise ValueError(f"{name} must be a share between 0 and 1")
    return float(value)


def _fail_rates(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError("fail_rates must be an object {REASON_CODE: share}")
    rates: dict[str, float] = {}
    for code, share in value.items():
        if code not in REASON_CODES:
            raise ValueError(f"fail_rates: {code!r} is not one of {', '.join(REASON_CODES)}")
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise ValueError(f"fail_rates: the share of {code} must be between 0 and 1")
        rates[code] = float(share)
    if sum(rates.values()) > 1 + 1e-9:
        raise ValueError("fail_rates: the shares add up to more than 1")
    return rates


def drawn_share(seed: int, purpose: str, key: str) -> float:
    """A number in [0, 1) fixed by (seed, purpose, key): the sandbox's dice, repeatable."""
    digest = hashlib.blake2b(f"{seed}:{purpose}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def injected_reason(share: float, fail_rates: Mapping[str, float]) -> str | None:
    """The shares cut [0, 1) into consecutive slices in REASON_CODES order, so one hash picks at
    most one reason and each reason gets exactly its share."""
    edge = 0.0
    for code in REASON_CODES:
        edge += fail_rates.get(code, 0.0)
        if share < edge:
            return code
    return None
