"""What each kind of queued message says. The app that queues a kind registers its wording here
(`@message("kind")`), so the outbox knows how to send without knowing about waves or orders."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prakerja.notifications.models import Notification


@dataclass(frozen=True)
class Text:
    sms: str
    subject: str
    body: str


Renderer = Callable[["Notification"], Text]
MESSAGES: dict[str, Renderer] = {}


def message(kind: str) -> Callable[[Renderer], Renderer]:
    def register(renderer: Renderer) -> Renderer:
        MESSAGES[kind] = renderer
        return renderer

    return register
