"""A test hook: die with SIGKILL at a named point, to prove that a run resumes after ``kill -9``.

Set ``AUTOML_AL_TEST_CRASH_AT`` to one event name, e.g. ``scored:1`` (phase 1's scores were just
saved), ``epoch:det:2:1`` (phase 2's deterministic model finished epoch 1, before its checkpoint),
``scoring:1:2`` (phase 1, after the 2nd scoring batch) or ``query-png:3:0`` (the human oracle wrote
the first query image of phase 3). Unset, every crash point is a no-op.
"""

from __future__ import annotations

import os
import signal

ENV = "AUTOML_AL_TEST_CRASH_AT"


def crash_point(event: str) -> None:
    """SIGKILL this process (no cleanup, like ``kill -9``) when ``$AUTOML_AL_TEST_CRASH_AT == event``."""
    if os.environ.get(ENV) == event:
        os.kill(os.getpid(), signal.SIGKILL)
