"""prepare_data on the demo: arrays, reuse without decoding, datasets, labels, classification."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from data_helpers import make_cfg

from automl_al.config import Config
from automl_al.data import SOURCES, DataError, prepare_data
from automl_al.data.problems import Problems


def demo_records(cfg: Config) -> list:
    return list(SOURCES.get("demo")(cfg.data, Problems()))


def test_cache_holds_normalised_fixed_size_arrays(tiny_cfg: Config) -> None:
    prepared = prepare_data(tiny_cfg, progress=False)
    images = prepared.images
    assert images.shape == (24, 1, 32, 32) and images.dtype == np.float32
    assert float(images.min()) == 0.0 and float(images.max()) == 1.0  # minmax per image
    assert np.allclose(images.reshape(24, -1).max(axis=1), 1.0)
    assert len(prepared.ids) == 24 and prepared.labeled.all()
    index = json.loads((prepared.root / "index.json").read_text())
    assert index["ids"] == prepared.ids and (prepared.root / "COMPLETE").is_file()
    assert np.load(prepared.root / "targets.npy").dtype == np.uint8  # a real .npy file


def test_targets_are_the_source_masks(tiny_cfg: Config) -> None:
    prepared = prepare_data(tiny_cfg, progress=False)
    records = demo_records(tiny_cfg)
    got = prepared.targets_for([records[5].id, records[0].id])
    np.testing.assert_array_equal(got[0], records[5].target)
    np.testing.assert_array_equal(got[1], records[0].target)
    assert got[0].dtype == np.int64


def test_complete_cache_is_reused_without_decoding(tiny_cfg: Config) -> None:
    first = prepare_data(tiny_cfg, progress=False)
    other = tiny_cfg.model_copy(update={"seed": 3})
    bigger = make_cfg(tiny_cfg.run_dir, image_size=(48, 48))

    def broken(cfg, problems):
        raise AssertionError("the source was decoded again")

    with SOURCES.temporarily("demo", broken):
        again = prepare_data(tiny_cfg, progress=False)
        assert again.root == first.root and again.ids == first.ids
        # the seed and the split fractions do not change pixels: same cache
        assert prepare_data(other, progress=False).root == first.root
        # a different image size does: it must decode again
        with pytest.raises(AssertionError, match="decoded again"):
            prepare_data(bigger, progress=False)


def test_incomplete_cache_is_rebuilt(tiny_cfg: Config) -> None:
    prepared = prepare_data(tiny_cfg, progress=False)
    (prepared.root / "COMPLETE").unlink()
    (prepared.root / "images.npy").write_bytes(b"garbage")
    rebuilt = prepare_data(tiny_cfg, progress=False)
    assert rebuilt.images.shape == (24, 1, 32, 32)


def test_dataset_items_and_pickling(tiny_cfg: Config) -> None:
    prepared = prepare_data(tiny_cfg, progress=False)
    ids = prepared.splits["pool"][:3]
    image, target = prepared.dataset(ids)[1]
    assert image.shape == (1, 32, 32) and image.dtype == torch.float32
    assert target.shape == (32, 32) and target.dtype == torch.int64
    np.testing.assert_array_equal(image.numpy(), prepared.images[prepared.index_of(ids[1])])
    blind = prepared.dataset(ids, with_target=False)
    assert blind.targets_path is None  # scoring never opens the labels
    assert [blind[k][1] for k in range(3)] == [0, 1, 2]
    clone = pickle.loads(pickle.dumps(prepared.dataset(ids, augment=True)))
    x, y = clone[0]
    assert x.shape == (1, 32, 32) and y.shape == (32, 32)


def test_classification_uses_the_demo_label(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path, task="classification")
    prepared = prepare_data(cfg, progress=False)
    labels = prepared.targets_for(prepared.ids)
    expected = [r.meta["label"] for r in demo_records(cfg)]
    assert labels == expected and set(labels) == {0, 1}
    _, y = prepared.dataset(prepared.ids[:1])[0]
    assert y.shape == () and int(y) == expected[0]
    assert prepared.class_names() == ["small", "large"]  # label 1 = a large cavity


def test_unknown_id_and_unlabeled_request_are_refused(tiny_cfg: Config) -> None:
    prepared = prepare_data(tiny_cfg, progress=False)
    with pytest.raises(KeyError, match="nope"):
        prepared.index_of("nope")
    prepared.labeled[3] = False
    with pytest.raises(DataError, match=prepared.ids[3]):
        prepared.targets_for([prepared.ids[3]])
    assert prepared.ids[3] not in prepared.labeled_ids()


def test_demo_is_deterministic_and_has_foreground(tiny_cfg: Config) -> None:
    a, b = demo_records(tiny_cfg), demo_records(tiny_cfg)
    for ra, rb in zip(a, b, strict=True):
        np.testing.assert_array_equal(ra.image, rb.image)
        np.testing.assert_array_equal(ra.target, rb.target)
    assert all(r.target.sum() > 0 for r in a) and all(r.meta["synthetic"] for r in a)
    assert len({r.group for r in a}) == 8
