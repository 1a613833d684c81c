"""One name -> object registry for every family of interchangeable parts.

Losses, optimizers, schedulers, samplers, pruners, acquisitions, reductions, oracles, data sources
and decoders all live in a :class:`Registry`. Unknown names list the valid ones and duplicate
registrations are errors (timm only warns), so a typo or a plugin clash surfaces at once instead of
silently picking another part.

Example:
    >>> LOSSES: Registry[str] = Registry("loss", config_key="train.loss")
    >>> @LOSSES.register("dice")
    ... def dice() -> str:
    ...     return "dice"
    >>> LOSSES.get("dice")()
    'dice'
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from automl_al.errors import AutomlAlError

T = TypeVar("T")


class UnknownNameError(AutomlAlError, KeyError, ValueError):
    """A name that no entry of the family carries; both a KeyError and a ValueError for callers."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Registry(Generic[T]):
    """Named entries of one family; ``kind`` and ``config_key`` name it in error messages."""

    def __init__(self, kind: str, config_key: str | None = None) -> None:
        self.kind = kind
        self.config_key = config_key
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: Any = None) -> Any:
        """Add ``entry`` under ``name``; without ``entry`` it returns a decorator that does."""

        def add(value: T) -> T:
            if name in self._entries:
                raise ValueError(
                    f"{self.kind} {name!r} is already registered; pick another name "
                    f"(registered: {', '.join(self.names())})"
                )
            self._entries[name] = value
            return value

        return add if entry is None else add(entry)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            where = f" (config key {self.config_key})" if self.config_key else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}{where}; valid names: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries


__all__ = ["Registry", "UnknownNameError"]
