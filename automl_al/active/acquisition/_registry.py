"""A name -> object table that fails helpfully: shared by acquisitions and reductions."""

from __future__ import annotations

from typing import Generic, TypeVar

V = TypeVar("V")


class Registry(Generic[V]):
    """Unknown names list the valid ones; registering a name twice is an error, not a warning."""

    def __init__(self, kind: str, config_key: str) -> None:
        self._kind = kind
        self._config_key = config_key
        self._entries: dict[str, V] = {}

    def register(self, name: str, value: V) -> V:
        if name in self._entries:
            raise ValueError(
                f"{self._kind} {name!r} is already registered; pick another name "
                f"(registered: {', '.join(self.names())})"
            )
        self._entries[name] = value
        return value

    def get(self, name: str) -> V:
        if name not in self._entries:
            raise ValueError(
                f"unknown {self._kind} {name!r} (config key {self._config_key}); "
                f"valid names: {', '.join(self.names())}"
            )
        return self._entries[name]

    def names(self) -> list[str]:
        return sorted(self._entries)
