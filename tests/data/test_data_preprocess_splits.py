"""Fitting, normalisation and channels by hand-computed numbers; grouped seeded splits."""

from __future__ import annotations

import numpy as np
import pytest

from automl_al.config import DataConfig
from automl_al.data import make_splits
from automl_al.data.preprocess import fit_image, fit_mask, match_channels, normalize


def test_pad_then_centre_crop() -> None:
    cfg = DataConfig(image_size=(4, 4), resize="pad")
    image = np.arange(6, dtype=np.float32).reshape(1, 2, 3) + 5  # 2 x 3 -> padded with its min (5)
    out = fit_image(image, cfg)
    expected = np.full((1, 4, 4), 5.0, np.float32)
    expected[0, 1:3, 0:3] = image[0]  # rows padded 1 + 1, cols 0 + 1
    np.testing.assert_array_equal(out, expected)
    big = np.arange(36).reshape(6, 6)
    np.testing.assert_array_equal(fit_mask(big, cfg), big[1:5, 1:5])


def test_resize_mask_is_nearest() -> None:
    cfg = DataConfig(image_size=(4, 4))
    mask = np.array([[0, 2], [1, 0]], dtype=np.int64)
    np.testing.assert_array_equal(fit_mask(mask, cfg), np.kron(mask, np.ones((2, 2), np.int64)))
    out = fit_image(np.array([[[0.0, 1.0], [0.0, 1.0]]], np.float32), cfg)
    assert out.shape == (1, 4, 4) and 0 < out[0, 0, 1] < 1  # bilinear blends


def test_normalise_by_hand() -> None:
    x = np.array([[[0.0, 10.0], [20.0, 1000.0]]], np.float32)
    mm = normalize(x, DataConfig(clip_percentiles=(0.0, 100.0)))
    np.testing.assert_allclose(mm, [[[0.0, 0.01], [0.02, 1.0]]], rtol=1e-6)
    z = normalize(x, DataConfig(normalize="zscore", clip_percentiles=(0.0, 100.0)))
    assert z.mean() == pytest.approx(0.0, abs=1e-6) and z.std() == pytest.approx(1.0, abs=1e-5)
    assert (normalize(np.ones((1, 3, 3), np.float32), DataConfig()) == 0).all()


def test_channels() -> None:
    rgb = np.stack([np.full((2, 2), 100.0), np.full((2, 2), 200.0), np.zeros((2, 2))]).astype(np.float32)
    np.testing.assert_allclose(match_channels(rgb, 1), np.full((1, 2, 2), 0.299 * 100 + 0.587 * 200), rtol=1e-6)
    assert match_channels(rgb[:1], 3).shape == (3, 2, 2)
    with pytest.raises(ValueError, match="5 channels"):
        match_channels(np.zeros((5, 2, 2), np.float32), 1)


def split_inputs():
    ids = [f"p{p}-s{s}" for p in range(20) for s in range(5)]
    groups = [i.split("-")[0] for i in ids]
    labeled = [not (g in {"p0", "p1"} and i.endswith("s4")) for i, g in zip(ids, groups, strict=True)]
    return ids, groups, labeled


def test_splits_are_grouped_and_only_labeled_in_test_val() -> None:
    ids, groups, labeled = split_inputs()
    splits = make_splits(ids, groups, labeled, test_fraction=0.2, val_fraction=0.1, seed=0)
    group_of = dict(zip(ids, groups, strict=True))
    sets = {k: {group_of[i] for i in v} for k, v in splits.items()}
    assert not sets["test"] & sets["val"] and not sets["test"] & sets["pool"] and not sets["val"] & sets["pool"]
    lab = dict(zip(ids, labeled, strict=True))
    assert all(lab[i] for i in splits["test"] + splits["val"])
    assert len(splits["test"]) >= 0.2 * sum(labeled) and len(sets["test"]) == 4
    assert len(sets["val"]) == 2 and len(sets["pool"]) == 14


def test_same_seed_same_split_other_seed_other_split() -> None:
    ids, groups, labeled = split_inputs()
    kw = {"test_fraction": 0.2, "val_fraction": 0.1}
    a = make_splits(ids, groups, labeled, seed=1, **kw)
    assert a == make_splits(ids, groups, labeled, seed=1, **kw)
    assert a["test"] != make_splits(ids, groups, labeled, seed=2, **kw)["test"]


def test_a_labeled_group_always_stays_in_the_pool() -> None:
    splits = make_splits(["a", "b"], ["g1", "g2"], [True, True], test_fraction=0.5, val_fraction=0.3, seed=0)
    assert len(splits["test"]) == 1 and splits["val"] == [] and len(splits["pool"]) == 1
