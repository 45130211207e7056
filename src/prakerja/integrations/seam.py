"""The one place services get an adapter from: the real HTTP client built from settings (one per
process and URL, so connections are pooled), or whatever a test or benchmark put in with `use`."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class AdapterSeam(Generic[T]):
    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._override: T | None = None

    def get(self) -> T:
        return self._override if self._override is not None else self._build()

    @contextmanager
    def use(self, implementation: T) -> Iterator[T]:
        previous, self._override = self._override, implementation
        try:
            yield implementation
        finally:
            self._override = previous
