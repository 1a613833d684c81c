"""The folder source on tiny files written here: round trip, and every bad input refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
import tifffile
from data_helpers import make_cfg, write_png
from pydicom.dataset import FileMetaDataset

from automl_al.config import Config
from automl_al.data import BadFileError, DataError, prepare_data


def grey(seed: int, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (size, size), dtype=np.uint8)


def disc(size: int = 16) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return (((yy - 8) ** 2 + (xx - 6) ** 2) < 16).astype(np.uint8)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """a.png + b.tif (16-bit) labeled, c.png unlabeled; masks a.png (0/255), b.tif (indices)."""
    root = tmp_path / "data"
    write_png(root / "images" / "p1_a.png", grey(1))
    tifffile.imwrite(root / "images" / "p2_b.tif", (grey(2).astype(np.uint16) * 200))
    write_png(root / "masks" / "p1_a.png", disc() * 255)
    tifffile.imwrite(root / "masks" / "p2_b.tif", disc().T.copy())
    write_png(root / "unlabeled" / "p1_c.png", grey(3))
    return root


def cfg_for(root: Path, **data) -> Config:
    return make_cfg(root.parent / "run", source="folder", path=str(root), image_size=(16, 16), **data)


def test_round_trip(folder: Path) -> None:
    prepared = prepare_data(cfg_for(folder, group_pattern=r"^(p\d+)_", test_fraction=0.0, val_fraction=0.0),
                            progress=False)
    assert prepared.ids == ["p1_a", "p2_b", "p1_c"]
    assert prepared.labeled.tolist() == [True, True, False]
    assert prepared.groups == ["p1", "p2", "p1"]
    a, b = prepared.targets_for(["p1_a", "p2_b"])
    np.testing.assert_array_equal(a, disc())  # 0/255 -> 0/1
    np.testing.assert_array_equal(b, disc().T)
    raw = grey(1).astype(np.float32)
    lo, hi = np.percentile(raw, (0.5, 99.5))
    expected = (np.clip(raw, lo, hi) - lo) / (hi - lo)
    np.testing.assert_allclose(prepared.images[0, 0], expected, rtol=1e-5, atol=1e-6)
    assert prepared.sources[1].endswith("images/p2_b.tif")
    assert prepared.meta[0]["mask_file"].endswith("masks/p1_a.png")


def assert_refused(cfg: Config, bad: Path, words: str) -> None:
    """error policy: one BadFileError naming ``bad``; skip policy: listed in problems.json."""
    with pytest.raises(BadFileError, match=words) as info:
        prepare_data(cfg, progress=False)
    assert info.value.path == str(bad)
    assert str(info.value).endswith("(data.on_bad_file: skip leaves such files out and lists them)")
    skipping = cfg.model_copy(update={"data": cfg.data.model_copy(update={"on_bad_file": "skip"})})
    prepared = prepare_data(skipping, progress=False)
    assert [p for p, _ in prepared.problems] == [str(bad)]
    assert json.loads((prepared.root / "problems.json").read_text())[0][0] == str(bad)
    assert str(bad) not in prepared.sources


def test_zero_byte_image(folder: Path) -> None:
    bad = folder / "images" / "p1_a.png"
    bad.write_bytes(b"")
    assert_refused(cfg_for(folder), bad, "empty file")


def test_broken_symbolic_link_is_reported_not_lost(folder: Path) -> None:
    """Datasets are often linked in (nnU-Net style); a link whose target moved is named with it."""
    bad = folder / "unlabeled" / "p1_c.png"
    bad.unlink()
    bad.symlink_to(folder / "moved" / "p1_c.png")
    assert_refused(cfg_for(folder), bad, f"a broken symbolic link to {folder / 'moved' / 'p1_c.png'}")


def test_truncated_image(folder: Path) -> None:
    bad = folder / "unlabeled" / "p1_c.png"
    bad.write_bytes(bad.read_bytes()[:60])
    assert_refused(cfg_for(folder), bad, "truncated")


def test_mask_shape_differs(folder: Path) -> None:
    bad = write_png(folder / "masks" / "p1_a.png", np.zeros((12, 16), np.uint8))
    assert_refused(cfg_for(folder), bad, r"mask shape \(12, 16\) differs")


def test_mask_values_outside_classes(folder: Path) -> None:
    bad = folder / "masks" / "p2_b.tif"
    tifffile.imwrite(bad, disc() * 3)
    assert_refused(cfg_for(folder), bad, r"mask values \{3\} are outside the declared classes 0..1")


def test_image_without_mask(folder: Path) -> None:
    bad = write_png(folder / "images" / "p3_d.png", grey(4))
    assert_refused(cfg_for(folder), bad, "no mask masks/p3_d.png")


def test_mask_without_image(folder: Path) -> None:
    bad = write_png(folder / "masks" / "p9_z.png", disc())
    assert_refused(cfg_for(folder), bad, "mask has no image")


def test_stray_file(folder: Path) -> None:
    bad = folder / "unlabeled" / "notes.txt"
    bad.write_text("hello")
    assert_refused(cfg_for(folder), bad, "not an image")


def test_duplicate_id(folder: Path) -> None:
    bad = write_png(folder / "unlabeled" / "p1_a.png", grey(5))
    assert_refused(cfg_for(folder), bad, "duplicate id 'p1_a'")


def test_dicom_without_pixel_data(folder: Path) -> None:
    bad = folder / "unlabeled" / "empty.dcm"
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.MRImageStorage
    ds.SOPClassUID = pydicom.uid.MRImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.PatientID = "X"
    ds.save_as(bad, enforce_file_format=True)
    with pytest.raises(BadFileError, match="pixel") as info:
        prepare_data(cfg_for(folder), progress=False)
    assert info.value.path == str(bad)


def test_images_without_masks_folder(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_png(root / "images" / "a.png", grey(1))
    with pytest.raises(DataError, match=r"images: labeled images but no masks/ folder"):
        prepare_data(cfg_for(root), progress=False)


def test_empty_folder(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    with pytest.raises(DataError, match="empty folder"):
        prepare_data(cfg_for(root), progress=False)
    with pytest.raises(DataError, match="no images/ or unlabeled/"):
        prepare_data(cfg_for(root / "masks"), progress=False)


def test_rgb_image_becomes_grey(tmp_path: Path) -> None:
    root = tmp_path / "data"
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 0], rgb[:8, :, 1] = 100, 200  # top half: 0.299*100 + 0.587*200; bottom: 0.299*100
    write_png(root / "unlabeled" / "rgb.png", rgb)
    prepared = prepare_data(cfg_for(root, clip_percentiles=(0.0, 100.0)), progress=False)
    image = prepared.images[0, 0]
    assert prepared.images.shape == (1, 1, 16, 16)
    assert image[:8].min() == 1.0 and image[8:].max() == 0.0


def test_sunnybrook_as_folder_keeps_patients_apart(shared_data: Path, tmp_path: Path) -> None:
    root = shared_data / "sunnybrook_lv"
    cfg = make_cfg(tmp_path, source="folder", path=str(root), image_size=(32, 32))
    prepared = prepare_data(cfg, progress=False)
    assert len(prepared.ids) == 36 + 117 and int(prepared.labeled.sum()) == 36
    assert set(prepared.groups) == {"SCD0000101", "SCD0000201"}  # DICOM PatientID
    assert prepared.meta[0]["PixelSpacing"][0] == pytest.approx(1.367188)
    group = dict(zip(prepared.ids, prepared.groups, strict=True))
    test_groups = {group[i] for i in prepared.splits["test"]}
    assert test_groups and not test_groups & {group[i] for i in prepared.splits["pool"]}
    mask = prepared.targets_for([prepared.splits["test"][0]])[0]
    assert set(np.unique(mask).tolist()) == {0, 1}
