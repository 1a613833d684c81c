"""The cache fingerprint: what must decode again (files, decoding settings) and what must not
(seed, split fractions, augmentation, hidden files)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from data_helpers import make_cfg, write_png

from automl_al.data import DataError, fingerprint


def test_the_fingerprint_follows_the_files_and_the_decoding_not_the_split(tmp_path: Path) -> None:
    image = write_png(tmp_path / "data" / "images" / "a.png", np.zeros((8, 8), np.uint8))
    cfg = make_cfg(tmp_path / "run", source="folder", path=str(tmp_path / "data"))
    first = fingerprint(cfg)
    assert fingerprint(make_cfg(tmp_path / "run", source="folder", path=str(tmp_path / "data"), seed=5,
                                test_fraction=0.3, augment="none")) == first
    (tmp_path / "data" / ".DS_Store").write_bytes(b"x")  # hidden files are never read
    assert fingerprint(cfg) == first
    assert fingerprint(make_cfg(tmp_path / "run", source="folder", path=str(tmp_path / "data"),
                                image_size=(48, 48))) != first
    os.utime(image, ns=(1, 1))  # the same file, touched: it may hold other pixels now
    assert fingerprint(cfg) != first


def test_a_missing_data_folder_is_named(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path / "run", source="folder", path=str(tmp_path / "absent"))
    with pytest.raises(DataError, match="absent: data folder does not exist"):
        fingerprint(cfg)
