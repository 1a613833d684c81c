"""``simulated``: the pool's labels are already known and stay hidden until an image is queried.

This oracle is the only code in active learning that reads a pool target
(``prepared.targets_for``), and it does so only for the ids the loop queried.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from automl_al.active.oracles.base import Oracle

if TYPE_CHECKING:
    from automl_al.data import PreparedData


class SimulatedOracle(Oracle):
    name = "simulated"

    def __init__(self, prepared: PreparedData) -> None:
        self._prepared = prepared

    def answerable(self, pool_ids: Sequence[str]) -> list[str]:
        """Only images the data labels: an unlabeled image has nothing to reveal."""
        return self._prepared.labeled_among(pool_ids)

    def request(self, phase: int, ids: Sequence[str], scores: Sequence[float | None]) -> dict[str, np.ndarray]:
        targets = self._prepared.targets_for(list(ids))
        return {i: np.asarray(t) for i, t in zip(ids, targets, strict=True)}
