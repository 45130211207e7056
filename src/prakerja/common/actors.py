"""Who did something: every service takes `actor=` so the audit trail can say who."""

from dataclasses import dataclass
from typing import Any, Literal

ActorKind = Literal["user", "system", "partner", "participant"]


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: int | None
    label: str

    @classmethod
    def system(cls, process: str) -> "Actor":
        """A scheduled job, a CLI command or a batch run, named by what it is."""
        return cls(kind="system", id=None, label=f"system:{process}")

    @classmethod
    def for_user(cls, user: Any) -> "Actor":
        return cls(kind="user", id=user.pk, label=f"user:{user.get_username()}")

    @classmethod
    def participant(cls, registrant_id: int) -> "Actor":
        return cls(kind="participant", id=registrant_id, label=f"registrant:{registrant_id}")

    @classmethod
    def partner(cls, partner_id: int, code: str) -> "Actor":
        return cls(kind="partner", id=partner_id, label=f"partner:{code}")

    def __str__(self) -> str:
        return self.label
