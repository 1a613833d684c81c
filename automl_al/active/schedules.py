"""When the loop queries (``active.schedule``): a schedule runs a whole active-learning run.

Only ``phases`` is registered so far: :class:`~automl_al.active.loop.ActiveLoop`, which trains from
the labeled set, scores, queries K images and repeats, phase by phase. A schedule is built with
the loop's arguments (``cfg, pool_ids, learner, oracle, *, initial_selector, tracker, on_finish``)
and run with ``.run()``, so one that queries inside a continuous training run registers beside it
without touching the caller (:func:`automl_al.active.run.run_active`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from automl_al.active.loop import ActiveLoop, ActiveResult
from automl_al.registries import SCHEDULES


class QueryRun(Protocol):
    def run(self) -> ActiveResult: ...


QuerySchedule = Callable[..., QueryRun]  # called with ActiveLoop's constructor arguments

SCHEDULES.register("phases", ActiveLoop)
