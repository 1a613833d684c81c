"""detect_layout on each known layout, and the summary's numbers on a hand-built dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from data_helpers import make_cfg, write_png

from automl_al.data import DataError, detect_layout, format_summary, prepare_data, summarize


def test_detect_each_layout(tmp_path: Path) -> None:
    msd = tmp_path / "msd"
    (msd / "imagesTr").mkdir(parents=True)
    (msd / "dataset.json").write_text("{}")
    assert detect_layout(msd) == "msd"
    write_png(tmp_path / "folder" / "images" / "a.png", np.zeros((4, 4), np.uint8))
    assert detect_layout(tmp_path / "folder") == "folder"
    for cls in ("cat", "dog"):
        write_png(tmp_path / "classes" / cls / "a.png", np.zeros((4, 4), np.uint8))
    assert detect_layout(tmp_path / "classes") == "classes"
    dicom = tmp_path / "tree" / "series1"
    dicom.mkdir(parents=True)
    (dicom / "IM0001").write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 16)  # no suffix, DICM preamble
    assert detect_layout(tmp_path / "tree") == "dicom"
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="junk: unknown data layout"):
        detect_layout(tmp_path / "junk")


def test_detect_real_folders(shared_data: Path) -> None:
    assert detect_layout(shared_data / "msd_hippocampus") == "msd"
    assert detect_layout(shared_data / "sunnybrook_lv") == "folder"
    assert detect_layout(shared_data / "dicom_samples") == "dicom"


def test_summary_numbers(tmp_path: Path) -> None:
    root = tmp_path / "d"
    mask = np.zeros((4, 4), np.uint8)
    mask[:2, :2] = 255  # 4 of 16 pixels
    for name in ("p1_a", "p2_a", "p3_a"):
        write_png(root / "images" / f"{name}.png", np.arange(16, dtype=np.uint8).reshape(4, 4))
        write_png(root / "masks" / f"{name}.png", mask)
    write_png(root / "unlabeled" / "p1_b.png", np.zeros((6, 8), np.uint8))
    write_png(root / "unlabeled" / "p4_b.png", np.zeros((6, 8), np.uint8))
    (root / "unlabeled" / "broken.png").write_bytes(b"")
    cfg = make_cfg(tmp_path / "run", source="folder", path=str(root), image_size=(4, 4), group_pattern=r"^(p\d)_",
                   test_fraction=0.3, val_fraction=0.0, on_bad_file="skip")
    prepared = prepare_data(cfg, progress=False)
    summary = summarize(prepared)
    c = summary["counts"]
    assert (c["images"], c["labeled"], c["unlabeled"], c["groups"], c["problems"]) == (5, 3, 2, 4, 1)
    assert c["test"] == 1 and c["val"] == 0 and c["pool"] + c["unused"] == 4
    assert all(isinstance(v, int) for v in c.values())
    assert summary["class_balance"] == {"0": 0.75, "1": 0.25}
    assert summary["original_size"] == {"min": [4, 4], "max": [6, 8]}
    text = format_summary(summary)
    assert "broken.png: empty file" in text and "0: 0.75, 1: 0.25" in text and "max 6 x 8" in text


def test_summary_of_classification(tmp_path: Path) -> None:
    prepared = prepare_data(make_cfg(tmp_path, task="classification"), progress=False)
    balance = summarize(prepared)["class_balance"]
    labels = prepared.targets_for(prepared.ids)
    assert balance == {"0": labels.count(0), "1": labels.count(1)}
