"""S2's validation set: an equal count per class, min(50, half of the smaller class), seeded.

S2's text says "half of the smaller class, with a maximum of 50 scans per class" (its equation 2
prints max(50, ...), which contradicts the text and its own 50 + 50 result on 347 / 670 images; we
follow the text). "Half" is rounded down.

With groups (patients), a group never straddles validation and training. Groups are taken into
validation in a seeded order until every class has the target count there, keeping at least one
group for training; then exactly ``per_class`` images of each class are drawn from those groups.
The other images of validation groups are ``dropped``: in neither set, since their patient is in
validation. When the groups cannot give every class the target count (too few groups, or one class
concentrated in one patient), ``per_class`` is the largest equal count they can give, which the
caller reads from the result (``per_class < target``) and reports; zero is an error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from automl_al.data.records import DataError

S2_MAX_PER_CLASS = 50


@dataclass(frozen=True)
class BalancedSplit:
    """Ids in dataset order. ``per_class`` images of each class are in ``val``; ``target`` is the
    count S2 asks for (``per_class`` is smaller only when grouping prevents it)."""

    val: list[str]
    train: list[str]
    dropped: list[str]
    per_class: int
    target: int


def balanced_validation_split(
    ids: Sequence[str],
    labels: Sequence[int],
    *,
    seed: int,
    groups: Sequence[Hashable] | None = None,
    max_per_class: int = S2_MAX_PER_CLASS,
) -> BalancedSplit:
    """S2's validation split of labeled images ``ids`` with class ``labels`` (see module doc)."""
    if len(ids) != len(labels) or (groups is not None and len(groups) != len(ids)):
        raise ValueError(f"need one label (and group) per id: {len(ids)} ids, {len(labels)} labels")
    if len(set(ids)) != len(ids):
        raise ValueError("sample ids must be unique")
    counts = Counter(labels)
    if len(counts) < 2:
        raise DataError(f"a balanced validation set needs at least 2 classes, but the labels hold {sorted(counts)}")
    target = min(max_per_class, min(counts.values()) // 2)
    if target < 1:
        smallest = min(counts, key=lambda c: counts[c])
        raise DataError(
            f"class {smallest} has {counts[smallest]} labeled image(s); S2's validation set takes half of the "
            "smaller class per class, so every class needs at least 2"
        )
    rng = np.random.default_rng(seed)
    if groups is None:
        val = _draw(list(range(len(ids))), labels, target, rng)
        return _result(ids, val, set(range(len(ids))) - val, target, target)
    chosen = _validation_groups(groups, labels, target, rng)
    in_chosen = [i for i, g in enumerate(groups) if g in chosen]
    available = Counter(labels[i] for i in in_chosen)
    per_class = min(target, *(available.get(c, 0) for c in counts))
    if per_class < 1:
        missing = sorted(c for c in counts if not available.get(c))
        raise DataError(
            f"no validation group holds an image of class(es) {missing} while leaving a group for training; "
            "a grouped balanced validation set needs each class in at least two groups"
        )
    val = _draw(in_chosen, labels, per_class, rng)
    train = {i for i, g in enumerate(groups) if g not in chosen}
    return _result(ids, val, train, per_class, target)


def _validation_groups(
    groups: Sequence[Hashable], labels: Sequence[int], target: int, rng: np.random.Generator
) -> set[Hashable]:
    """Groups in a seeded order until every class has ``target`` images in them; one group stays out."""
    per_group: dict[Hashable, Counter[int]] = {}
    for g, y in zip(groups, labels, strict=True):
        per_group.setdefault(g, Counter())[y] += 1
    order = sorted(per_group, key=str)
    order = [order[i] for i in rng.permutation(len(order))]
    classes = set(labels)
    have: Counter[int] = Counter()
    chosen: set[Hashable] = set()
    for g in order[:-1]:  # the last group always stays for training
        if all(have[c] >= target for c in classes):
            break
        chosen.add(g)
        have.update(per_group[g])
    return chosen


def _draw(candidates: list[int], labels: Sequence[int], k: int, rng: np.random.Generator) -> set[int]:
    """``k`` seeded picks of each class among ``candidates`` (positions, in dataset order)."""
    picked: set[int] = set()
    for c in sorted(set(labels)):
        members = [i for i in candidates if labels[i] == c]
        picked.update(members[j] for j in rng.choice(len(members), size=k, replace=False))
    return picked


def _result(ids: Sequence[str], val: set[int], train: set[int], per_class: int, target: int) -> BalancedSplit:
    return BalancedSplit(
        val=[ids[i] for i in range(len(ids)) if i in val],
        train=[ids[i] for i in range(len(ids)) if i in train],
        dropped=[ids[i] for i in range(len(ids)) if i not in val and i not in train],
        per_class=per_class,
        target=target,
    )


__all__ = ["S2_MAX_PER_CLASS", "BalancedSplit", "balanced_validation_split"]
