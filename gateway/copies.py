"""Copies a gateway process keeps of what other processes own, for as long as it hears of
every change to them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Copies:
    """Values by key, served only while ``live()`` (the change feed is up) and for at most
    ``max_age`` seconds. Every change bumps ``generation``: a value read before a change is
    never stored after it."""

    def __init__(self, max_age: float, live: Callable[[], bool]):
        self.max_age = max_age
        self.live = live
        self.generation = 0
        self._values: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> Any | None:
        if not self.live():
            return None
        entry = self._values.get(key)
        if entry is None or time.monotonic() - entry[0] > self.max_age:
            return None
        return entry[1]

    def put(self, key: Any, value: Any, generation: int) -> None:
        """Keep ``value``, read while ``generation`` was current (ignored if it changed)."""
        if value is not None and generation == self.generation and self.live():
            self._values[key] = (time.monotonic(), value)

    def through(self, key: Any, load: Callable[[], Any]) -> Any:
        """The kept value, or ``load()`` (kept unless a change came meanwhile)."""
        value = self.get(key)
        if value is None:
            generation = self.generation
            value = load()
            self.put(key, value, generation)
        return value

    def drop(self, key: Any) -> None:
        self.generation += 1
        self._values.pop(key, None)

    def clear(self) -> None:
        self.generation += 1
        self._values.clear()
