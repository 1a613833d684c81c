"""Model-layer test settings (helpers live in model_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and OpenMP spinning beside other busy processes
    (parallel test runs on 2 cores) slows them 50-fold; restore the caller's setting after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
