"""Shared by tests that build many real models (the paper space, the rules contract)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from unittest import mock

import torch


@contextlib.contextmanager
def skip_weight_init() -> Iterator[None]:
    """Make ``torch.nn.init`` functions no-ops while models are built (transformers'
    ``no_init_weights`` does the same): random init is 80-90 % of building a big encoder and
    plays no part in whether a pair builds and maps shapes; every module is still constructed."""
    with contextlib.ExitStack() as stack:
        for name in dir(torch.nn.init):
            if name.endswith("_") and not name.startswith("_"):
                stack.enter_context(mock.patch.object(torch.nn.init, name, lambda tensor, *a, **k: tensor))
        yield
