"""Oracles: the simulated one reveals only what was queried; the folder one round-trips PNGs."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from active_fakes import FakePrepared
from PIL import Image

from automl_al.active.labels import safe_name
from automl_al.active.oracles import (
    FolderOracle,
    SimulatedOracle,
    WaitingForLabels,
    available_oracles,
    create_oracle,
    register_oracle,
)
from automl_al.config import Config


def test_registry_lists_names_and_refuses_duplicates_and_unknowns(tmp_path):
    assert available_oracles() == ["folder", "simulated"]
    with pytest.raises(ValueError, match="already registered"):
        register_oracle("simulated", lambda prepared, cfg: SimulatedOracle(prepared))
    with pytest.raises(KeyError, match="valid names: folder, simulated"):
        create_oracle("human", FakePrepared(), Config())
    cfg = Config.model_validate({"run_dir": str(tmp_path), "active": {"oracle": "folder"}})
    assert isinstance(create_oracle("folder", FakePrepared(), cfg), FolderOracle)


def test_simulated_reveals_exactly_the_queried_targets():
    prepared = FakePrepared()
    labels = SimulatedOracle(prepared).request(1, ["img-004", "img-001"], [0.9, 0.8])
    assert prepared.target_requests == [["img-004", "img-001"]]
    np.testing.assert_array_equal(labels["img-004"], prepared.targets[4])
    np.testing.assert_array_equal(labels["img-001"], prepared.targets[1])


def _oracle(tmp_path, **kw):
    prepared = FakePrepared(**kw)
    return prepared, FolderOracle(prepared, tmp_path, task="segmentation", classes=2)


def _save_mask(path, mask):
    Image.fromarray(np.asarray(mask, dtype=np.uint8)).save(path)


def test_folder_writes_the_query_and_waits_naming_every_missing_mask(tmp_path):
    prepared, oracle = _oracle(tmp_path)
    with pytest.raises(WaitingForLabels) as info:
        oracle.request(2, ["img-003", "img-000"], [0.7, 0.5])
    query_dir = tmp_path / "queries" / "phase_02"
    assert info.value.query_dir == query_dir
    assert set(info.value.problems) == {"img-003", "img-000"}
    assert "missing" in info.value.problems["img-003"] and "run the same command again" in str(info.value)
    with (query_dir / "queries.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["id"], float(r["score"]), r["source"]) for r in rows] == [
        ("img-003", 0.7, "/data/img-003.dcm"),
        ("img-000", 0.5, "/data/img-000.dcm"),
    ]
    png = np.asarray(Image.open(query_dir / rows[0]["file"]))
    assert png.dtype == np.uint8 and png.shape == (8, 8) and png.max() == 255 and png.min() == 0
    # the windowing keeps the image's order of intensities
    image = prepared.images[3, 0].numpy()
    assert np.corrcoef(png.ravel(), image.ravel())[0, 1] > 0.95
    assert prepared.target_requests == []  # the human oracle never peeks at hidden targets


def test_folder_round_trip_reads_binary_and_index_masks(tmp_path):
    _, oracle = _oracle(tmp_path)
    with pytest.raises(WaitingForLabels):
        oracle.request(1, ["img-001", "img-002"], [0.2, 0.1])
    binary = np.zeros((8, 8), np.uint8)
    binary[2:5, 3:6] = 255
    index = np.zeros((8, 8), np.uint8)
    index[0, 0] = 1
    _save_mask(tmp_path / "labels" / f"{safe_name('img-001')}.png", binary)
    _save_mask(tmp_path / "labels" / f"{safe_name('img-002')}.png", index)
    labels = oracle.request(1, ["img-001", "img-002"], [0.2, 0.1])
    np.testing.assert_array_equal(labels["img-001"], (binary == 255).astype(np.int64))
    assert labels["img-002"].sum() == 1 and labels["img-002"].dtype == np.int64


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.zeros((7, 8), np.uint8), "has shape 7x8 but the query image is 8x8"),
        (np.full((8, 8), 3, np.uint8), "values [3] outside the classes"),
        (np.stack([np.zeros((8, 8)), np.full((8, 8), 255), np.zeros((8, 8))], -1), "colour image"),
    ],
)
def test_a_bad_mask_is_rejected_by_name_and_the_rest_still_accepted(tmp_path, mask, message):
    _, oracle = _oracle(tmp_path)
    with pytest.raises(WaitingForLabels):
        oracle.request(1, ["img-001", "img-002"], [0.2, 0.1])
    _save_mask(tmp_path / "labels" / f"{safe_name('img-001')}.png", mask)
    _save_mask(tmp_path / "labels" / f"{safe_name('img-002')}.png", np.zeros((8, 8)))
    with pytest.raises(WaitingForLabels) as info:
        oracle.request(1, ["img-001", "img-002"], [0.2, 0.1])
    assert list(info.value.problems) == ["img-001"]
    assert message in info.value.problems["img-001"]


def test_a_mask_for_an_image_never_queried_is_refused(tmp_path):
    _, oracle = _oracle(tmp_path)
    with pytest.raises(WaitingForLabels):
        oracle.request(1, ["img-001"], [0.2])
    _save_mask(tmp_path / "labels" / f"{safe_name('img-001')}.png", np.zeros((8, 8)))
    _save_mask(tmp_path / "labels" / "img-005.png", np.zeros((8, 8)))
    with pytest.raises(WaitingForLabels) as info:
        oracle.request(1, ["img-001"], [0.2])
    assert list(info.value.problems) == ["img-005.png"]
    assert "not a queried image" in info.value.problems["img-005.png"]


def test_given_labels_come_from_the_data_without_a_query(tmp_path):
    prepared, oracle = _oracle(tmp_path, labeled=["img-002"])
    assert oracle.given_ids() == ["img-002"]
    labels = oracle.request(0, ["img-002"], [None])
    np.testing.assert_array_equal(labels["img-002"], prepared.targets[2])
    assert not (tmp_path / "queries").exists()


def test_classification_labels_from_a_csv_by_index_or_name(tmp_path):
    prepared = FakePrepared()
    oracle = FolderOracle(prepared, tmp_path, task="classification", classes=3, class_names=["a", "b", "c"])
    with pytest.raises(WaitingForLabels):
        oracle.request(1, ["img-001", "img-002"], [0.2, 0.1])
    (tmp_path / "labels" / "labels.csv").write_text("id,label\nimg-001,c\nimg-002,7\n")
    with pytest.raises(WaitingForLabels) as info:
        oracle.request(1, ["img-001", "img-002"], [0.2, 0.1])
    assert list(info.value.problems) == ["img-002"] and "'7' is not a class" in info.value.problems["img-002"]
    (tmp_path / "labels" / "labels.csv").write_text("id,label\nimg-001,c\nimg-002,1\n")
    labels = oracle.request(1, ["img-001", "img-002"], [0.2, 0.1])
    assert int(labels["img-001"]) == 2 and int(labels["img-002"]) == 1


def test_given_labels_serve_only_the_initial_set(tmp_path):
    _, oracle = _oracle(tmp_path, labeled=["img-002", "img-003"])
    with pytest.raises(WaitingForLabels) as info:
        oracle.request(1, ["img-002"], [0.4])
    assert list(info.value.problems) == ["img-002"]
