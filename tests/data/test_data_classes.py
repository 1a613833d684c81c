"""The classes source: one folder per class, or a CSV of path,label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from data_helpers import make_cfg, write_png

from automl_al.data import BadFileError, DataError, prepare_data


def tree(root: Path) -> Path:
    for k, (cls, n) in enumerate([("normal", 2), ("abnormal", 3), ("unlabeled", 1)]):
        for i in range(n):
            write_png(root / cls / f"{i:03d}.png", np.full((8, 8), 10 * k + i, np.uint8))
    return root


def cfg(root: Path, **data):
    return make_cfg(root.parent / "run", task="classification", source="classes", path=str(root),
                    image_size=(8, 8), test_fraction=0.0, val_fraction=0.0, **data)


def test_class_folders_sorted_names(tmp_path: Path) -> None:
    prepared = prepare_data(cfg(tree(tmp_path / "d")), progress=False)
    assert prepared.ids == ["abnormal/000", "abnormal/001", "abnormal/002", "normal/000", "normal/001", "unlabeled/000"]
    assert prepared.targets_for(prepared.labeled_ids()) == [0, 0, 0, 1, 1]  # abnormal < normal
    assert prepared.labeled.tolist() == [True] * 5 + [False]
    _, y = prepared.dataset(["normal/001"])[0]
    assert y.ndim == 0 and int(y) == 1
    assert prepared.class_names() == ["abnormal", "normal"]  # what a saved model's config will carry


def test_class_names_set_the_order(tmp_path: Path) -> None:
    prepared = prepare_data(cfg(tree(tmp_path / "d"), class_names=["normal", "abnormal"]), progress=False)
    assert prepared.targets_for(["abnormal/000", "normal/000"]) == [1, 0]
    assert prepared.class_names() == ["normal", "abnormal"]


def test_class_count_must_match(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"2 classes \['abnormal', 'normal'\] but data.classes=3; set data.classes: 2"):
        prepare_data(cfg(tree(tmp_path / "d"), classes=3), progress=False)
    with pytest.raises(DataError, match=r"\['abnormal'\] are not in data.class_names"):
        prepare_data(cfg(tree(tmp_path / "d"), class_names=["normal", "other"]), progress=False)


def test_csv_labels_and_missing_file(tmp_path: Path) -> None:
    root = tree(tmp_path / "d")
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label\nnormal/000.png,yes\nabnormal/000.png,no\nunlabeled/000.png,\n")
    prepared = prepare_data(cfg(root, labels_csv=str(labels)), progress=False)
    assert prepared.ids == ["normal/000", "abnormal/000", "unlabeled/000"]
    assert prepared.targets_for(["normal/000", "abnormal/000"]) == [1, 0]  # sorted: no < yes
    assert prepared.class_names() == ["no", "yes"]
    labels.write_text("path,label\nnormal/000.png,yes\ngone.png,no\n")
    with pytest.raises(BadFileError, match=r"gone.png: listed in labels.csv line 3"):
        prepare_data(cfg(root, labels_csv=str(labels)), progress=False)
    labels.write_text("file,class\nnormal/000.png,yes\n")
    with pytest.raises(DataError, match="header row 'path,label'"):
        prepare_data(cfg(root, labels_csv=str(labels)), progress=False)


def test_labels_need_a_classification_task(tmp_path: Path) -> None:
    seg = make_cfg(tmp_path / "run", source="classes", path=str(tree(tmp_path / "d")), image_size=(8, 8))
    with pytest.raises(DataError, match="task is segmentation but the source yields class labels"):
        prepare_data(seg, progress=False)
