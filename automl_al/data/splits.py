"""Grouped, seeded test/validation/pool splits.

Only labeled records can be test or validation; a group (patient, volume) never straddles two
splits. Unlabeled records of a test/validation group are left out of every split: using them in
the pool would let a queried frame of a test patient leak into training.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _take(order: list[str], sizes: dict[str, int], want: float, keep: int) -> list[str]:
    """Pop groups from the front of ``order`` until ``want`` samples are reached, leaving ``keep`` groups."""
    taken: list[str] = []
    count = 0
    while order and len(order) > keep and count < want:
        g = order.pop(0)
        taken.append(g)
        count += sizes[g]
    return taken


def make_splits(
    ids: Sequence[str],
    groups: Sequence[str],
    labeled: Sequence[bool],
    *,
    test_fraction: float,
    val_fraction: float,
    seed: int,
) -> dict[str, list[str]]:
    """``{"test", "val", "pool"}`` -> ids, in dataset order.

    Groups with a labeled record are shuffled with ``seed``; test takes groups until it holds
    ``test_fraction`` of the labeled records, then validation likewise; at least one labeled
    group always stays in the pool. A non-zero fraction takes at least one group when it can.
    """
    sizes: dict[str, int] = {}
    for g, lab in zip(groups, labeled, strict=True):
        if lab:
            sizes[g] = sizes.get(g, 0) + 1
    order = sorted(sizes)
    np.random.default_rng(seed).shuffle(order)
    n = sum(sizes.values())
    test = set(_take(order, sizes, test_fraction * n, keep=1)) if test_fraction > 0 else set()
    val = set(_take(order, sizes, val_fraction * n, keep=1)) if val_fraction > 0 else set()
    out: dict[str, list[str]] = {"test": [], "val": [], "pool": []}
    for i, g, lab in zip(ids, groups, labeled, strict=True):
        if g in test or g in val:
            if lab:
                out["test" if g in test else "val"].append(i)
        else:
            out["pool"].append(i)
    return out
