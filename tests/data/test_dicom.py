"""DICOM reader and source on real files (pydicom's test data, Sunnybrook) and on broken ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import FileMetaDataset
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, convert_color_space
from PIL import Image
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from automl_al.config import Config, DataConfig
from automl_al.data import prepare_data
from automl_al.data.problems import Problems
from automl_al.data.readers.dicom import read_dicom, series_indices, slice_position
from automl_al.data.records import BadFileError, DataError
from automl_al.data.sources import SOURCES
from automl_al.data.sources.dicom import dicom_source, group_of


def _dcm(shared: Path, name: str) -> Path:
    return shared / "dicom_samples" / name


@pytest.mark.parametrize("name", ["0.dcm", "693_UNCR.dcm", "MR2_UNCR.dcm"])
def test_geometry_is_numeric_with_dicom_lengths(shared_data: Path, name: str) -> None:
    (frame,) = read_dicom(_dcm(shared_data, name))
    meta = frame.meta
    assert [len(meta[k]) for k in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing")] == [3, 6, 2]
    assert all(isinstance(v, float) for k in ("ImagePositionPatient", "ImageOrientationPatient") for v in meta[k])
    ds = pydicom.dcmread(_dcm(shared_data, name), stop_before_pixels=True)
    assert meta["PixelSpacing"] == [float(v) for v in ds.PixelSpacing]
    assert meta["SOPInstanceUID"] == ds.SOPInstanceUID
    assert frame.frame is None and frame.image.shape == (1, ds.Rows, ds.Columns)


def test_sunnybrook_geometry(shared_data: Path) -> None:
    path = shared_data / "sunnybrook_lv" / "images" / "SCD0000101_0048.dcm"
    (frame,) = read_dicom(path)
    assert frame.meta["PatientID"] == "SCD0000101"
    assert frame.meta["ImagePositionPatient"] == [176.111, 22.2895, 137.999]
    assert frame.meta["PixelSpacing"] == [1.367188, 1.367188]
    assert frame.image.dtype == np.float32 and frame.image.shape == (1, 256, 256)


@pytest.mark.parametrize(("name", "frames"), [("emri_small.dcm", 10), ("eCT_Supplemental.dcm", 2)])
def test_multi_frame_expands(shared_data: Path, name: str, frames: int) -> None:
    ds = pydicom.dcmread(_dcm(shared_data, name))
    assert int(ds.NumberOfFrames) == frames
    decoded = read_dicom(_dcm(shared_data, name), apply_voi=False)
    assert [d.frame for d in decoded] == list(range(frames))
    raw = ds.pixel_array
    for d in decoded:  # frames stay in file order: each is its stored frame up to the rescale offset
        offset = d.image[0] - raw[d.frame].astype(np.float32)
        assert np.all(offset == offset.flat[0])
    assert not np.array_equal(raw[0], raw[-1])


def test_enhanced_ct_takes_geometry_and_rescale_per_frame(shared_data: Path) -> None:
    ds = pydicom.dcmread(_dcm(shared_data, "eCT_Supplemental.dcm"))
    decoded = read_dicom(_dcm(shared_data, "eCT_Supplemental.dcm"), apply_voi=False)
    positions = [
        [float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient]
        for item in ds.PerFrameFunctionalGroupsSequence
    ]
    assert [d.meta["ImagePositionPatient"] for d in decoded] == positions
    assert positions[0] != positions[1]
    transform = ds.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence[0]
    expected = ds.pixel_array[1] * float(transform.RescaleSlope) + float(transform.RescaleIntercept)
    np.testing.assert_array_equal(decoded[1].image[0], expected.astype(np.float32))


def test_rgb_ultrasound_becomes_luminance(shared_data: Path) -> None:
    path = _dcm(shared_data, "US1_UNCR.dcm")
    rgb = pydicom.dcmread(path).pixel_array.astype(np.float64)
    (frame,) = read_dicom(path)
    assert frame.image.shape == (1, *rgb.shape[:2])
    expected = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    np.testing.assert_allclose(frame.image[0], expected, rtol=1e-6)


def test_palette_ultrasound_becomes_luminance_of_its_colours(shared_data: Path) -> None:
    path = _dcm(shared_data, "OBXXXX1A.dcm")
    ds = pydicom.dcmread(path)
    rgb = apply_color_lut(ds.pixel_array, ds).astype(np.float64)
    (frame,) = read_dicom(path)
    np.testing.assert_allclose(frame.image[0], rgb @ [0.299, 0.587, 0.114], rtol=1e-6)


def test_ybr_is_converted_before_taking_luminance(tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    path = tmp_path / "us.dcm"
    _write_colour(path, ybr, "YBR_FULL")
    (frame,) = read_dicom(path)
    expected = convert_color_space(ybr, "YBR_FULL", "RGB").astype(np.float64) @ [0.299, 0.587, 0.114]
    np.testing.assert_allclose(frame.image[0], expected, rtol=1e-6)
    np.testing.assert_allclose(frame.image[0], ybr[..., 0], atol=1.5)  # Y of YBR_FULL is the luma


@pytest.mark.parametrize("where", ["shared", "pydicom"])
def test_modality_lut_matches_pydicom(shared_data: Path, where: str) -> None:
    path = _dcm(shared_data, "693_UNCR.dcm") if where == "shared" else Path(get_testdata_file("CT_small.dcm"))
    ds = pydicom.dcmread(path)
    assert "RescaleIntercept" in ds
    (frame,) = read_dicom(path, apply_voi=False)
    expected = apply_modality_lut(ds.pixel_array, ds)
    np.testing.assert_array_equal(frame.image[0], expected.astype(np.float32))
    assert frame.image.min() < 0  # Hounsfield units: air is negative


def test_voi_window_applied_when_the_file_carries_one(shared_data: Path) -> None:
    path = _dcm(shared_data, "693_UNCR.dcm")
    ds = pydicom.dcmread(path)
    (frame,) = read_dicom(path)
    expected = apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds)
    np.testing.assert_allclose(frame.image[0], expected, rtol=1e-6)
    (unwindowed,) = read_dicom(path, apply_voi=False)
    assert not np.array_equal(frame.image, unwindowed.image)


def _write_ct(path: Path, *, pixels: bool = True, photometric: str = "MONOCHROME2") -> np.ndarray:
    """A small real DICOM file written with pydicom; returns its stored pixel values."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientID = "P1"
    ds.Modality = "CT"
    values = np.arange(12, dtype=np.uint16).reshape(3, 4)
    if pixels:
        ds.Rows, ds.Columns = values.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = photometric
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.PixelData = values.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return values


def _write_colour(path: Path, pixels: np.ndarray, photometric: str) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"  # ultrasound image storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns, ds.SamplesPerPixel = *pixels.shape[:2], 3
    ds.PhotometricInterpretation = photometric
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)


def test_written_file_round_trips_and_monochrome1_is_inverted(tmp_path: Path) -> None:
    values = _write_ct(tmp_path / "a.dcm")
    (frame,) = read_dicom(tmp_path / "a.dcm")
    np.testing.assert_array_equal(frame.image[0], values)
    assert frame.meta == {"PatientID": "P1", "SOPInstanceUID": frame.meta["SOPInstanceUID"], "Modality": "CT"}
    _write_ct(tmp_path / "m1.dcm", photometric="MONOCHROME1")
    (inverted,) = read_dicom(tmp_path / "m1.dcm")
    np.testing.assert_array_equal(inverted.image[0], 11 - values)  # max + min - x


def test_no_pixel_data_is_refused_naming_the_file(tmp_path: Path) -> None:
    _write_ct(tmp_path / "report.dcm", pixels=False)
    with pytest.raises(BadFileError, match=r"report\.dcm: has no pixel data"):
        read_dicom(tmp_path / "report.dcm")


def test_zero_byte_and_non_dicom_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.dcm").write_bytes(b"")
    with pytest.raises(BadFileError, match=r"empty\.dcm: .*not a DICOM file"):
        read_dicom(tmp_path / "empty.dcm")
    (tmp_path / "notes.dcm").write_text("patient notes, not an image\n" * 20)
    with pytest.raises(BadFileError, match=r"notes\.dcm: .*not a DICOM file"):
        read_dicom(tmp_path / "notes.dcm")


def test_truncated_file_is_refused(shared_data: Path, tmp_path: Path) -> None:
    data = _dcm(shared_data, "693_UNCR.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadFileError, match=r"cut\.dcm: .*(truncated|corrupt)"):
        read_dicom(tmp_path / "cut.dcm")


def test_dicom_seg_is_refused_as_a_label_object(shared_data: Path) -> None:
    with pytest.raises(BadFileError, match=r"liver\.dcm: is a DICOM-SEG segmentation object \(a label map"):
        read_dicom(_dcm(shared_data, "liver.dcm"))


def test_series_index_follows_the_slice_normal(shared_data: Path) -> None:
    files = sorted((shared_data / "sunnybrook_lv" / "images").glob("SCD0000101_*.dcm"))
    metas = {f.stem: read_dicom(f)[0].meta for f in files}
    index = series_indices(metas)
    assert sorted(index.values()) == list(range(len(files)))  # one series, a permutation
    ordered = sorted(index, key=index.get)
    positions = [slice_position(metas[k]) for k in ordered]
    assert positions == sorted(positions) and positions[0] < positions[-1]
    # Cine frames at one position keep their acquisition order.
    for a, b in zip(ordered, ordered[1:]):
        if positions[ordered.index(a)] == positions[ordered.index(b)]:
            assert metas[a]["InstanceNumber"] < metas[b]["InstanceNumber"]


def test_slice_position_is_the_projection_on_the_normal() -> None:
    # Axial slice: row x, column y -> normal z, so the position is z.
    meta = {"ImageOrientationPatient": [1, 0, 0, 0, 1, 0], "ImagePositionPatient": [5.0, -3.0, 42.5]}
    assert slice_position(meta) == 42.5
    assert slice_position({"ImagePositionPatient": [0.0, 0.0, 1.0]}) is None


# --- the "dicom" source -------------------------------------------------------------------------


def _source(root: Path, policy: str = "error", **kw: object) -> tuple[list, Problems]:
    problems = Problems(policy)  # type: ignore[arg-type]
    return list(dicom_source(DataConfig(source="dicom", path=root, **kw), problems)), problems


def test_registered_as_dicom() -> None:
    assert SOURCES.get("dicom") is dicom_source


def test_sunnybrook_tree_pairs_masks_and_keeps_the_unlabeled_pool(shared_data: Path) -> None:
    root = shared_data / "sunnybrook_lv"
    records, problems = _source(root)
    assert len(problems) == 0
    labeled = [r for r in records if r.target is not None]
    assert len(records) == 36 + 117 and len(labeled) == 36
    assert {r.id.split("/")[0] for r in labeled} == {"images"}
    assert {r.id.split("/")[0] for r in records if r.target is None} == {"unlabeled"}
    first = next(r for r in records if r.id == "images/SCD0000101_0048")
    mask = np.asarray(Image.open(root / "masks" / "SCD0000101_0048.png"))
    np.testing.assert_array_equal(first.target, mask // 255)  # 0/255 PNG -> class indices 0/1
    assert first.target.dtype == np.int64 and set(np.unique(first.target)) == {0, 1}
    assert first.group == "SCD0000101" and first.source == str(root / "images" / "SCD0000101_0048.dcm")
    assert {r.group for r in records} == {"SCD0000101", "SCD0000201"}
    for patient in ("SCD0000101", "SCD0000201"):  # one series per patient: indices are a permutation
        indices = sorted(r.meta["series_index"] for r in records if r.group == patient)
        assert indices == list(range(len(indices)))


def test_tree_walk_skips_non_dicom_and_reads_suffixless_files(shared_data: Path, tmp_path: Path) -> None:
    sample = shared_data / "sunnybrook_lv" / "images" / "SCD0000101_0048.dcm"
    (tmp_path / "scans" / "deep").mkdir(parents=True)
    shutil.copy(sample, tmp_path / "scans" / "deep" / "IM0001")  # scanner export: no suffix
    (tmp_path / "scans" / "notes.txt").write_text("not an image")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "scans" / "thumbnail.png")
    (tmp_path / "scans" / "multi").mkdir()
    (tmp_path / "scans" / "multi" / "emri_small.dcm").symlink_to(_dcm(shared_data, "emri_small.dcm"))
    records, _ = _source(tmp_path, group_pattern=r"^(emri)_")
    ids = [r.id for r in records]
    assert ids == ["scans/deep/IM0001", *[f"scans/multi/emri_small#frame={i}" for i in range(10)]]
    multi = records[1:]
    assert {r.group for r in multi} == {"emri"}  # no PatientID: group_pattern on the stem
    assert multi[3].source.endswith("emri_small.dcm#frame=3")
    assert [r.meta["series_index"] for r in multi] == list(range(10))  # no geometry: InstanceNumber, then id


def test_group_falls_back_to_the_stem(tmp_path: Path) -> None:
    _write_ct(tmp_path / "anon.dcm")
    records, _ = _source(tmp_path)
    assert records[0].group == "P1"
    assert group_of({}, "case7_slice2", r"^(case\d+)_") == "case7"
    assert group_of({"PatientID": ""}, "case7_slice2", None) == "case7_slice2"


def test_mask_shape_mismatch_is_reported_naming_both_files(tmp_path: Path) -> None:
    _write_ct(tmp_path / "images" / "a.dcm")
    _write_ct(tmp_path / "images" / "b.dcm")
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "masks" / "a.png")
    Image.fromarray(np.eye(3, 4, dtype=np.uint8) * 2).save(tmp_path / "masks" / "b.png")
    with pytest.raises(BadFileError, match=r"masks/a\.png: mask shape \(5, 5\) differs from image shape \(3, 4\) of .*images/a\.dcm"):
        _source(tmp_path)
    records, problems = _source(tmp_path, policy="skip")
    assert [r.id for r in records] == ["images/b"]
    np.testing.assert_array_equal(records[0].target, np.eye(3, 4, dtype=np.int64) * 2)  # indices kept
    assert [Path(p).name for p, _ in problems.items] == ["a.png"]


def test_broken_files_in_a_tree_are_reported_or_skipped(shared_data: Path, tmp_path: Path) -> None:
    _write_ct(tmp_path / "good.dcm")
    (tmp_path / "empty.dcm").write_bytes(b"")
    (tmp_path / "liver.dcm").symlink_to(_dcm(shared_data, "liver.dcm"))
    with pytest.raises(BadFileError, match=r"empty\.dcm"):
        _source(tmp_path)
    records, problems = _source(tmp_path, policy="skip")
    assert [r.id for r in records] == ["good"]
    assert sorted(Path(p).name for p, _ in problems.items) == ["empty.dcm", "liver.dcm"]


def test_empty_tree_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(DataError, match=r"no DICOM files found"):
        _source(tmp_path)


def test_prepared_sunnybrook_never_splits_a_patient(shared_data: Path, tmp_path: Path) -> None:
    cfg = Config.model_validate({
        "run_dir": str(tmp_path / "run"),
        "data": {"source": "dicom", "path": str(shared_data / "sunnybrook_lv"), "image_size": [32, 32]},
    })
    prepared = prepare_data(cfg, progress=False)
    patients = {name: {prepared.groups[prepared.index_of(i)] for i in ids} for name, ids in prepared.splits.items()}
    assert patients["test"] and patients["pool"]
    assert not patients["test"] & patients["pool"] and not patients["val"] & (patients["test"] | patients["pool"])
    assert set(prepared.splits["test"]) <= set(prepared.labeled_ids())  # the unlabeled pool never tests
    assert len(prepared.labeled_ids()) == 36 and len(prepared.ids) == 153
    meta = prepared.meta[prepared.index_of("images/SCD0000101_0048")]
    assert meta["PatientID"] == "SCD0000101" and len(meta["ImageOrientationPatient"]) == 6
