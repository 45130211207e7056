"""The one refusal type of the set-based paths: an item of a chunk that was refused, with the very
error the one-item call raises for it (code, message in both languages, details)."""

from dataclasses import dataclass

from prakerja.common.errors import ApplicationError


@dataclass(frozen=True)
class Refused:
    index: int  # the item's position in the call
    error: ApplicationError

    @property
    def code(self) -> str:
        return self.error.code
