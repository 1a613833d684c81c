"""When the loop queries (``active.schedule``): a schedule runs a whole active-learning run.

Only ``phases`` is registered so far: :class:`~automl_al.active.loop.ActiveLoop`, which trains from
the labeled set, scores, queries K images and repeats, phase by phase. A schedule is built with
the loop's arguments and run with ``.run()``, so one that queries inside a continuous training run
registers beside it without touching the caller (:func:`automl_al.active.run.run_active`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from automl_al.active.loop import ActiveLoop, ActiveResult, InitialSelector, Learner
from automl_al.active.oracles import Oracle
from automl_al.config import Config
from automl_al.registries import SCHEDULES
from automl_al.tracking import Tracker


class QueryRun(Protocol):
    def run(self) -> ActiveResult: ...


class QuerySchedule(Protocol):
    """Builds one run; the arguments are :class:`~automl_al.active.loop.ActiveLoop`'s."""

    def __call__(
        self,
        cfg: Config,
        pool_ids: Sequence[str],
        learner: Learner,
        oracle: Oracle,
        *,
        initial_selector: InitialSelector,
        tracker: Tracker | None = None,
        on_finish: Callable[[ActiveResult, Tracker], None] | None = None,
    ) -> QueryRun: ...


SCHEDULES.register("phases", ActiveLoop)
