"""S2's balanced validation split: min(50, half the smaller class) per class, seeded, grouped."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from automl_al.data.balanced import balanced_validation_split
from automl_al.data.records import DataError


def _ids(n: int) -> list[str]:
    return [f"img{i:04d}" for i in range(n)]


def test_s2_sizes_cap_at_50_per_class() -> None:
    labels = [0] * 347 + [1] * 670  # S2's training set sizes (plus its 100 validation images)
    ids = _ids(len(labels))
    split = balanced_validation_split(ids, labels, seed=0)
    by_id = dict(zip(ids, labels, strict=True))
    assert split.per_class == split.target == 50  # min(50, 347 // 2 = 173)
    assert Counter(by_id[i] for i in split.val) == {0: 50, 1: 50}
    assert len(split.train) == 917 and not split.dropped
    assert set(split.val).isdisjoint(split.train) and sorted(split.val + split.train) == ids


def test_half_of_the_smaller_class_rounded_down() -> None:
    labels = [0] * 7 + [1] * 10 + [2] * 9
    split = balanced_validation_split(_ids(26), labels, seed=3)
    assert split.per_class == 3  # 7 // 2
    assert Counter(labels[int(i[3:])] for i in split.val) == {0: 3, 1: 3, 2: 3}


def test_seeded() -> None:
    labels = [0, 1] * 40
    a, b, c = (balanced_validation_split(_ids(80), labels, seed=s) for s in (5, 5, 6))
    assert a == b and a.val != c.val
    assert a.val == sorted(a.val)  # dataset order


def test_groups_never_straddle_and_counts_are_equal() -> None:
    # 12 patients, each with 3 images of class 0 and 5 of class 1: target min(50, 36 // 2) = 18
    labels, groups = [], []
    for p in range(12):
        labels += [0] * 3 + [1] * 5
        groups += [f"p{p}"] * 8
    ids = _ids(len(labels))
    split = balanced_validation_split(ids, labels, groups=groups, seed=1)
    group = dict(zip(ids, groups, strict=True))
    label = dict(zip(ids, labels, strict=True))
    assert split.per_class == split.target == 18
    assert Counter(label[i] for i in split.val) == {0: 18, 1: 18}
    val_groups = {group[i] for i in split.val}
    assert len(val_groups) == 6  # 6 patients x 3 class-0 images reach 18
    assert not val_groups & {group[i] for i in split.train}
    assert {group[i] for i in split.dropped} <= val_groups  # the rest of validation patients: unused
    assert len(split.val) + len(split.train) + len(split.dropped) == len(ids)


def test_sunnybrook_slices_two_patients(shared_data: Path) -> None:
    """90 included / 35 excluded over 2 patients: the target is min(50, 35 // 2) = 17 per class, but one
    patient must stay for training; the other's excluded count caps the equal count."""
    root = shared_data / "sunnybrook_slices"
    files = sorted(root.glob("*/*.dcm"))
    ids = [f"{f.parent.name}/{f.stem}" for f in files]
    labels = [int(f.parent.name == "included") for f in files]
    groups = [f.stem.split("_")[0] for f in files]
    assert Counter(labels) == {1: 90, 0: 35}
    for seed in range(4):
        split = balanced_validation_split(ids, labels, groups=groups, seed=seed)
        (val_patient,) = {groups[ids.index(i)] for i in split.val}
        excluded_there = sum(1 for g, y in zip(groups, labels, strict=True) if g == val_patient and y == 0)
        assert split.target == 17 and split.per_class == min(17, excluded_there)
        assert {groups[ids.index(i)] for i in split.train} == set(groups) - {val_patient}


@pytest.mark.parametrize(
    ("labels", "groups", "match"),
    [
        ([0, 0, 0, 0], None, "at least 2 classes"),
        ([0, 1, 1, 1], None, "class 0 has 1 labeled image"),
        ([0, 0, 1, 1], ["a", "a", "a", "a"], "leaving a group for training"),
        ([0, 0, 1, 1], ["a", "a", "b", "b"], r"no validation group holds an image of class\(es\) \[[01]\]"),
    ],
)
def test_impossible_splits_are_errors(labels: list[int], groups: list[str] | None, match: str) -> None:
    for seed in range(4):  # whatever the seeded group order
        with pytest.raises(DataError, match=match):
            balanced_validation_split(_ids(len(labels)), labels, groups=groups, seed=seed)
