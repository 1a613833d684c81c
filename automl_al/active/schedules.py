"""When to query inside one continuous training run (seed S2): decisions over the loss history.

After every finished epoch the loop asks ``schedule.due(losses, last_query)``: ``losses[i]`` is the
mean training loss of epoch ``i + 1``, and ``last_query`` is the number of epochs finished when the
last query was made (0 before the first one: the initial labeled set counts as a query at epoch 0).
The epochs "since the last query" are ``losses[last_query:]``. The answer is the reason for a
query (``"fixed"``, ``"sma"``, ``"plateau"``) or None. Schedules hold only their parameters; the
history lives in :class:`ScheduleState`, which serialises to JSON so that a resumed run decides
exactly as an uninterrupted one.

``fixed`` (S2's baseline, Q in {15, 25, 30, 50}): a query when Q epochs have passed since the last.

``dynamic`` (S2's scheduler), a query when EITHER
1. the simple moving average of the training loss over the 5 most recent epochs is below 1e-4
   (strictly). The window is the run's last 5 epochs, across a query moment: S2 says "since the last
   query" for condition 2 only. So while the loss stays below the threshold after a query (the new
   image was already fitted), the next epoch queries again. Fewer than 5 epochs: never.
2. at least 20 epochs have passed since the last query AND the mean loss over the most recent 25 %
   of those epochs is higher (strictly) than half the mean loss over the preceding 75 %. With e
   epochs since the last query, the recent part is the last floor(e / 4) epochs and the preceding
   part the other e - floor(e / 4) (S2 does not say how to round; when 4 divides e both readings
   agree; rounding down keeps a quarter-epoch from entering the recent part early).
Means are ``math.fsum(window) / len(window)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from itertools import pairwise
from typing import Any, Protocol

from automl_al.errors import AutomlAlError


class ScheduleError(AutomlAlError, ValueError):
    """A schedule parameter or a saved schedule state that cannot work."""


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _check_history(losses: Sequence[float], last_query: int) -> None:
    if not 0 <= last_query <= len(losses):
        raise ScheduleError(f"last_query must be in [0, {len(losses)}] (epochs finished), but got {last_query}")


class QuerySchedule(Protocol):
    """A decision rule: the reason to query after the last epoch of ``losses``, or None."""

    name: str

    def due(self, losses: Sequence[float], last_query: int) -> str | None: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class FixedSchedule:
    """A query every ``every`` (Q) epochs."""

    every: int
    name: str = field(default="fixed", init=False)

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ScheduleError(f"a fixed schedule queries every Q >= 1 epochs, but got Q={self.every}")

    def due(self, losses: Sequence[float], last_query: int) -> str | None:
        _check_history(losses, last_query)
        return "fixed" if len(losses) - last_query >= self.every else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DynamicSchedule:
    """S2's dynamic scheduler; the defaults are S2's numbers (module doc)."""

    sma_epochs: int = 5
    sma_below: float = 1e-4
    min_epochs: int = 20
    recent_fraction: float = 0.25
    ratio: float = 0.5
    name: str = field(default="dynamic", init=False)

    def __post_init__(self) -> None:
        if self.sma_epochs < 1 or self.min_epochs < 2:
            raise ScheduleError(
                f"dynamic schedule needs sma_epochs >= 1 and min_epochs >= 2, got {self.sma_epochs}, {self.min_epochs}"
            )
        if not 0 < self.recent_fraction < 1:
            raise ScheduleError(f"recent_fraction must be in (0, 1), but got {self.recent_fraction}")
        if self._recent(self.min_epochs) < 1:
            raise ScheduleError(
                f"recent_fraction {self.recent_fraction} of min_epochs {self.min_epochs} is less than one "
                "epoch; raise either"
            )

    def _recent(self, epochs: int) -> int:
        """floor(epochs x recent_fraction), exact for decimal fractions such as 0.25."""
        return math.floor(epochs * Fraction(str(self.recent_fraction)))

    def sma_due(self, losses: Sequence[float]) -> bool:
        """Condition 1: the mean of the last ``sma_epochs`` losses is below ``sma_below``."""
        return len(losses) >= self.sma_epochs and _mean(losses[-self.sma_epochs :]) < self.sma_below

    def plateau_due(self, losses: Sequence[float], last_query: int) -> bool:
        """Condition 2: ``min_epochs`` since the last query and the recent mean above ``ratio`` x the
        preceding mean."""
        since = losses[last_query:]
        if len(since) < self.min_epochs:
            return False
        recent = self._recent(len(since))
        return _mean(since[-recent:]) > self.ratio * _mean(since[:-recent])

    def due(self, losses: Sequence[float], last_query: int) -> str | None:
        _check_history(losses, last_query)
        if self.sma_due(losses):
            return "sma"
        if self.plateau_due(losses, last_query):
            return "plateau"
        return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SCHEDULE_TYPES: dict[str, type[FixedSchedule | DynamicSchedule]] = {
    "fixed": FixedSchedule,
    "dynamic": DynamicSchedule,
}


def schedule_from_dict(data: dict[str, Any]) -> FixedSchedule | DynamicSchedule:
    """The inverse of ``to_dict``: ``{"name": "fixed", "every": 25}`` -> ``FixedSchedule(25)``."""
    params = dict(data)
    name = params.pop("name", None)
    if name not in SCHEDULE_TYPES:
        raise ScheduleError(f"unknown query schedule {name!r}; valid: {', '.join(SCHEDULE_TYPES)}")
    try:
        return SCHEDULE_TYPES[name](**params)
    except TypeError as e:
        raise ScheduleError(f"bad parameters for the {name} schedule {params}: {e}") from None


@dataclass
class ScheduleState:
    """The history a schedule decides on: one mean training loss per finished epoch and the query log
    (epochs finished at each query, and why). ``to_dict``/``from_dict`` round-trip through JSON
    exactly (floats are written with all their digits)."""

    losses: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def epoch(self) -> int:
        """Epochs finished."""
        return len(self.losses)

    @property
    def last_query(self) -> int:
        return self.queries[-1] if self.queries else 0

    def record_epoch(self, loss: float) -> None:
        loss = float(loss)
        if not math.isfinite(loss):
            raise ScheduleError(
                f"the training loss of epoch {self.epoch + 1} is {loss}; a query schedule cannot decide on it "
                "(lower the learning rate or check the data)"
            )
        self.losses.append(loss)

    def record_query(self, reason: str) -> None:
        if self.queries and self.queries[-1] == self.epoch:
            raise ScheduleError(f"a query was already recorded after epoch {self.epoch}")
        self.queries.append(self.epoch)
        self.reasons.append(reason)

    def due(self, schedule: QuerySchedule) -> str | None:
        return schedule.due(self.losses, self.last_query)

    def to_dict(self) -> dict[str, Any]:
        return {"losses": list(self.losses), "queries": list(self.queries), "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScheduleState:
        try:
            state = cls([float(x) for x in data["losses"]], [int(q) for q in data["queries"]],
                        [str(r) for r in data["reasons"]])
        except (KeyError, TypeError, ValueError) as e:
            raise ScheduleError(f"a saved schedule state needs losses, queries and reasons lists: {e}") from None
        q = state.queries
        increasing = all(a < b for a, b in pairwise(q))
        if len(q) != len(state.reasons) or not increasing or any(not 0 <= e <= state.epoch for e in q):
            raise ScheduleError(f"a saved schedule state is inconsistent: {state.epoch} epochs, queries {q}")
        return state


__all__ = [
    "SCHEDULE_TYPES",
    "DynamicSchedule",
    "FixedSchedule",
    "QuerySchedule",
    "ScheduleError",
    "ScheduleState",
    "schedule_from_dict",
]
