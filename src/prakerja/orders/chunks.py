"""What the set-based entry points of the order path share: the size of a chunk, what a call
returns, and the check of their bulk UPDATEs. A refused item is a common.refusals.Refused."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prakerja.common.errors import ValidationFailed
from prakerja.common.refusals import Refused
from prakerja.partners.errors import PartnerKindNotAllowed
from prakerja.partners.models import Partner, PartnerKind

CHUNK_MAX = 1_000  # items per call: one transaction holds the rows of a chunk locked


@dataclass(frozen=True)
class BulkOutcome:
    done: dict[int, int] = field(default_factory=dict)  # item position -> order id
    refused: list[Refused] = field(default_factory=list)


def check_size(items: Sequence[Any]) -> None:
    if len(items) > CHUNK_MAX:
        raise ValidationFailed(
            details={"items": f"at most {CHUNK_MAX} per chunk, not {len(items)}"}
        )


def platform_only(platform: Partner) -> None:
    if platform.kind != PartnerKind.PLATFORM:
        raise PartnerKindNotAllowed(
            details={"kind": platform.kind, "required": PartnerKind.PLATFORM},
            kind=PartnerKind.PLATFORM,
        )


def all_changed(changed: int, expected: int) -> None:
    """The bulk UPDATEs change orders locked and checked in their transaction, by primary key (no
    status condition in the statement: with the statistics of a status out of date PostgreSQL
    would read every order of that status instead of looking up the chunk's)."""
    if changed != expected:
        raise RuntimeError(f"bulk update changed {changed} orders, not {expected}")


def raise_refusal(refused: list[Refused]) -> None:
    """The one-item call's answer: the refused item's error, as the per-request service raises it."""
    if refused:
        raise refused[0].error
