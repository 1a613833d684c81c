"""MSD / nnU-Net source: tiny volumes written with nibabel, and real Task04 Hippocampus cases."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from automl_al.config import Config, DataConfig
from automl_al.data import prepare_data
from automl_al.data.problems import Problems
from automl_al.data.records import BadFileError, DataError
from automl_al.data.sources import SOURCES
from automl_al.data.sources.msd import msd_source

MSD_LABELS = {"0": "background", "1": "anterior", "2": "posterior"}


def _save(path: Path, data: np.ndarray, zooms: tuple[float, ...] = (1.0, 1.0, 2.0)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    affine = np.diag([*zooms[:3], 1.0])
    nib.save(nib.Nifti1Image(data, affine), path)


def _volume(seed: int, shape: tuple[int, ...] = (6, 5, 4)) -> np.ndarray:
    return np.random.default_rng(seed).normal(100, 20, shape).astype(np.float32)


def _label(shape: tuple[int, int, int] = (6, 5, 4)) -> np.ndarray:
    label = np.zeros(shape, dtype=np.uint8)
    label[1:3, 1:3, 1] = 1  # slice 1 (axis 2): anterior
    label[2:5, 2:4, 2] = 2  # slice 2: posterior; slices 0 and 3 are empty
    return label


def _dataset(root: Path, labels: dict = MSD_LABELS, **extra: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset.json").write_text(json.dumps({"name": "tiny", "labels": labels, **extra}))
    return root


def _cfg(root: Path, **kw: object) -> DataConfig:
    return DataConfig(source="msd", path=root, classes=3, **kw)


def test_registered_as_msd() -> None:
    assert SOURCES.get("msd") is msd_source


def test_slices_round_trip_the_volume(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "task")
    image, label = _volume(0), _label()
    _save(root / "imagesTr" / "case_001.nii.gz", image)
    _save(root / "labelsTr" / "case_001.nii.gz", label)
    records = list(msd_source(_cfg(root), Problems()))
    assert [r.id for r in records] == [f"case_001#slice={i:03d}" for i in range(4)]
    for i, r in enumerate(records):
        np.testing.assert_array_equal(r.image, image[None, :, :, i])
        np.testing.assert_array_equal(r.target, label[:, :, i])
        assert r.image.dtype == np.float32 and r.target.dtype == np.int64
        assert r.group == "case_001" and r.source.endswith(f"case_001.nii.gz#slice={i}")
        assert r.meta["slice_index"] == i and r.meta["volume_shape"] == [6, 5, 4]
        assert r.meta["spacing"] == [1.0, 1.0, 2.0] and r.meta["affine"][2][2] == 2.0
    json.dumps([r.meta for r in records])  # JSON-serialisable


def test_slice_axis_and_empty_slices(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "task")
    image, label = _volume(1), _label()
    _save(root / "imagesTr" / "c.nii.gz", image)
    _save(root / "labelsTr" / "c.nii.gz", label)
    kept = list(msd_source(_cfg(root, keep_empty_slices=False), Problems()))
    assert [r.meta["slice_index"] for r in kept] == [1, 2]
    along_x = list(msd_source(_cfg(root, slice_axis=0), Problems()))
    assert len(along_x) == 6
    np.testing.assert_array_equal(along_x[3].image[0], image[3])
    np.testing.assert_array_equal(along_x[3].target, label[3])


def test_unlabeled_test_cases_and_nnunet_v2_channels(tmp_path: Path) -> None:
    root = _dataset(
        tmp_path / "v2", labels={"background": 0, "anterior": 1, "posterior": 2},
        channel_names={"0": "T1", "1": "T2"}, file_ending=".nii.gz",
    )
    t1, t2 = _volume(2), _volume(3)
    _save(root / "imagesTr" / "brain_007_0000.nii.gz", t1)
    _save(root / "imagesTr" / "brain_007_0001.nii.gz", t2)
    _save(root / "labelsTr" / "brain_007.nii.gz", _label())
    _save(root / "imagesTs" / "brain_100_0000.nii.gz", t1)
    _save(root / "imagesTs" / "brain_100_0001.nii.gz", t2)
    records = list(msd_source(_cfg(root), Problems()))
    labeled = [r for r in records if r.target is not None]
    unlabeled = [r for r in records if r.target is None]
    assert len(labeled) == len(unlabeled) == 4
    assert {r.group for r in unlabeled} == {"brain_100"}
    np.testing.assert_array_equal(labeled[2].image, np.stack([t1[:, :, 2], t2[:, :, 2]]))


def test_label_shape_mismatch_names_both_files(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "task")
    _save(root / "imagesTr" / "c.nii.gz", _volume(4))
    _save(root / "labelsTr" / "c.nii.gz", np.zeros((6, 5, 3), dtype=np.uint8))
    with pytest.raises(BadFileError, match=r"labelsTr/c\.nii\.gz: label shape \(6, 5, 3\) differs from image shape \(6, 5, 4\) of .*imagesTr/c\.nii\.gz"):
        list(msd_source(_cfg(root), Problems()))


def test_undeclared_label_value_is_reported_and_skippable(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "task")
    bad = _label()
    bad[0, 0, 0] = 7
    _save(root / "imagesTr" / "bad.nii.gz", _volume(5))
    _save(root / "labelsTr" / "bad.nii.gz", bad)
    _save(root / "imagesTr" / "good.nii.gz", _volume(6))
    _save(root / "labelsTr" / "good.nii.gz", _label())
    with pytest.raises(BadFileError, match=r"bad\.nii\.gz: label values \[7\] are not declared in dataset\.json labels \[0, 1, 2\]"):
        list(msd_source(_cfg(root), Problems("error")))
    problems = Problems("skip")
    records = list(msd_source(_cfg(root), problems))
    assert {r.group for r in records} == {"good"}
    assert [Path(p).name for p, _ in problems.items] == ["bad.nii.gz"]


def test_missing_label_and_corrupt_volume_are_reported(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "task")
    _save(root / "imagesTr" / "nolabel.nii.gz", _volume(7))
    (root / "imagesTr" / "broken.nii.gz").write_bytes(b"\x1f\x8b not really gzip")
    _save(root / "labelsTr" / "broken.nii.gz", _label())
    (root / "imagesTr" / "linked.nii.gz").symlink_to(tmp_path / "moved.nii.gz")
    _save(root / "labelsTr" / "linked.nii.gz", _label())
    problems = Problems("skip")
    assert list(msd_source(_cfg(root), problems)) == []
    found = dict((Path(p).name, msg) for p, msg in problems.items)
    assert "unreadable NIfTI" in found["broken.nii.gz"]
    assert found["linked.nii.gz"] == f"a broken symbolic link to {tmp_path / 'moved.nii.gz'} (moved or deleted?)"
    assert "no label file" in found["nolabel.nii.gz"] and "labelsTr" in found["nolabel.nii.gz"]


def test_class_count_checked_against_dataset_json(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "task")
    cfg = DataConfig(source="msd", path=root, classes=2)
    with pytest.raises(DataError, match=r"dataset\.json: declares 3 labels .* data\.classes is 2; set data\.classes: 3"):
        list(msd_source(cfg, Problems()))
    with pytest.raises(DataError, match=r"dataset\.json: not found"):
        list(msd_source(_cfg(tmp_path / "nowhere"), Problems()))


def test_real_hippocampus_slices_keep_their_volume_as_group(hippocampus: Path) -> None:
    records = list(msd_source(_cfg(hippocampus), Problems()))
    cases = sorted(p.name[: -len(".nii.gz")] for p in (hippocampus / "imagesTr").iterdir())
    assert sorted({r.group for r in records}) == cases
    for case in cases:
        volume = np.asanyarray(nib.load(hippocampus / "imagesTr" / f"{case}.nii.gz").dataobj)
        mine = [r for r in records if r.group == case]
        assert len(mine) == volume.shape[2]
        assert all(r.id.startswith(f"{case}#slice=") for r in mine)
        np.testing.assert_array_equal(mine[len(mine) // 2].image[0], volume[:, :, len(mine) // 2])
    assert {int(v) for r in records for v in np.unique(r.target)} == {0, 1, 2}
    with_foreground = list(msd_source(_cfg(hippocampus, keep_empty_slices=False), Problems()))
    assert 0 < len(with_foreground) < len(records)
    assert all(r.target.any() for r in with_foreground)


def test_prepared_hippocampus_never_splits_a_volume(hippocampus: Path, tmp_path: Path) -> None:
    cfg = Config.model_validate({
        "run_dir": str(tmp_path / "run"), "seed": 3,
        "data": {"source": "msd", "path": str(hippocampus), "classes": 3, "image_size": [32, 32],
                 "test_fraction": 0.2, "val_fraction": 0.2},
    })
    prepared = prepare_data(cfg, progress=False)
    assert prepared.problems == []
    split_of: dict[str, set[str]] = {}
    for name, ids in prepared.splits.items():
        for sample_id in ids:
            split_of.setdefault(prepared.groups[prepared.index_of(sample_id)], set()).add(name)
    assert len(split_of) == 5 and all(len(s) == 1 for s in split_of.values())
    assert {next(iter(s)) for s in split_of.values()} == {"test", "val", "pool"}
    image, target = prepared.dataset(prepared.splits["test"][:1])[0]
    assert tuple(image.shape) == (1, 32, 32) and set(target.unique().tolist()) <= {0, 1, 2}
