"""S2 geometry metadata from real files, checked against values worked out by hand from the tags.

Every expected number below is computed in the test from tag values copied as literals (printed by
``pydicom.dcmread(...).ImageOrientationPatient`` etc.), with the formulas of the z-x-z convention
written out: normal n = row x column, alpha = atan2(n_x, -n_y), beta = atan2(hypot(n_x, n_y), n_z)
(acos(n_z) for a unit n, but well conditioned near 0 where the rounded tags are not unit),
gamma = atan2(row_z, column_z); at gimbal lock (beta 0 or pi) gamma = 0 and alpha = atan2(row_y, row_x).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from automl_al.data.geometry import (
    FEATURES,
    LOCALIZER_FEATURES,
    SLICE_FEATURES,
    MetadataError,
    MissingMetadataError,
    SliceInfo,
    affine_geometry,
    dicom_slice_info,
    feature_table,
    is_localizer,
    logistic,
    raw_features,
    read_slice_infos,
    volume_slice_infos,
)
from automl_al.data.records import BadFileError


def same_angle(a: float, b: float, tol: float = 1e-5) -> bool:
    """Equal as angles (pi and -pi are one angle)."""
    return abs(math.remainder(a - b, 2 * math.pi)) < tol


def cross(r: tuple[float, float, float], c: tuple[float, float, float]) -> tuple[float, float, float]:
    """row x column, written out (the test's own arithmetic, not the module's)."""
    return (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])


def hand_euler(row: tuple[float, float, float], col: tuple[float, float, float]) -> tuple[float, float, float]:
    """alpha, beta, gamma by the z-x-z formulas of the module doc, away from gimbal lock."""
    n = cross(row, col)
    return math.atan2(n[0], -n[1]), math.atan2(math.hypot(n[0], n[1]), n[2]), math.atan2(row[2], col[2])


def sunnybrook_101(shared: Path) -> list[SliceInfo]:
    """The 18 labeled frames of patient SCD0000101 (one series, 9 locations x 2 frames)."""
    files = sorted((shared / "sunnybrook_lv" / "images").glob("SCD0000101_*.dcm"))
    return [info for f in files for info in read_slice_infos(f, f.stem)]


def test_feature_names() -> None:
    assert len(FEATURES) == len(set(FEATURES)) == 25
    assert FEATURES[:4] == ("position_x", "position_y", "position_z", "euler_alpha")
    assert "slice_position" in SLICE_FEATURES
    assert all(name.startswith("localizer_") for name in LOCALIZER_FEATURES)


def test_logistic_is_s2s_formula() -> None:
    assert logistic(0.0) == 0.5
    assert logistic(1.0) == pytest.approx(math.e / (math.e + 1))
    assert logistic(-2.0) == pytest.approx(math.exp(-2) / (math.exp(-2) + 1))
    assert np.all(np.isfinite(logistic([-1000.0, 1000.0])))  # no overflow at mm-scale extremes


def test_sunnybrook_euler_cosines_position_by_hand(shared_data: Path) -> None:
    # SCD0000101_0048.dcm: ImageOrientationPatient [-0.104592, 0.346381, -0.932245,
    # -0.733192, -0.660188, -0.163037]; ImagePositionPatient [176.111, 22.2895, 137.999]
    row, col = (-0.104592, 0.346381, -0.932245), (-0.733192, -0.660188, -0.163037)
    # n = row x column = (-0.671930, 0.666462, 0.323014)
    alpha, beta, gamma = hand_euler(row, col)
    assert (alpha, beta, gamma) == pytest.approx((-2.352109, 1.241884, -1.743932), abs=1e-6)

    infos = {i.key: i for i in sunnybrook_101(shared_data)}
    raw = raw_features(list(infos.values()))["SCD0000101_0048"].values
    assert same_angle(raw["euler_alpha"], alpha) and same_angle(raw["euler_gamma"], gamma)
    assert raw["euler_beta"] == pytest.approx(beta, abs=1e-5)
    assert [raw[f"row_{a}"] for a in "xyz"] == pytest.approx(row, abs=1e-6)
    assert [raw[f"column_{a}"] for a in "xyz"] == pytest.approx(col, abs=1e-6)
    assert [raw[f"position_{a}"] for a in "xyz"] == [176.111, 22.2895, 137.999]


def test_sunnybrook_relative_slice_position_by_hand(shared_data: Path) -> None:
    row, col = (-0.104592, 0.346381, -0.932245), (-0.733192, -0.660188, -0.163037)
    n = cross(row, col)
    # ImagePositionPatient of the two ends of the stack and of its middle location:
    top = (176.111, 22.2895, 137.999)  # SCD0000101_0048 (and _0059, same location)
    mid = (202.989, -4.36952, 125.078)  # SCD0000101_0128
    bottom = (229.866, -31.0275, 112.158)  # SCD0000101_0208
    d_top, d_mid, d_bottom = (sum(a * b for a, b in zip(n, p)) for p in (top, mid, bottom))
    assert (d_top, d_bottom) == pytest.approx((-58.9035, -138.9039), abs=1e-3)  # 9 locations, 10 mm apart
    expected_mid = (d_mid - d_bottom) / (d_top - d_bottom)  # 0.49999 (rounded tags)

    raw = raw_features(sunnybrook_101(shared_data))
    assert raw["SCD0000101_0048"].values["slice_position"] == 1.0
    assert raw["SCD0000101_0059"].values["slice_position"] == 1.0  # a second frame at the same place
    assert raw["SCD0000101_0208"].values["slice_position"] == 0.0
    assert raw["SCD0000101_0128"].values["slice_position"] == pytest.approx(expected_mid, abs=1e-6)


def test_oblique_mr_euler_by_hand(shared_data: Path) -> None:
    # MR2_UNCR.dcm: ImageOrientationPatient [0.569486, 0.822001, 0.000000, -0.000000, 0.000000, -1.000000]
    row, col = (0.569486, 0.822001, 0.0), (0.0, 0.0, -1.0)
    n = cross(row, col)  # (-0.822001, 0.569486, 0)
    alpha, beta, gamma = hand_euler(row, col)
    assert (beta, gamma) == pytest.approx((math.pi / 2, math.pi))
    (info,) = read_slice_infos(shared_data / "dicom_samples" / "MR2_UNCR.dcm")
    assert info.geometry is not None
    a, b, g = info.geometry.euler()
    assert same_angle(a, alpha) and b == pytest.approx(beta) and same_angle(g, gamma)
    assert info.geometry.normal == pytest.approx(n, abs=1e-6)


def test_two_slice_series_near_gimbal_lock_by_hand(shared_data: Path) -> None:
    # 0.dcm, 1.dcm (one Siemens series): ImageOrientationPatient [1, 0, 0, 0, 0.999986, -0.005236];
    # ImagePositionPatient z -75.097641 and -72.097641 (x -805.0, y -825.019119 both)
    row, col = (1.0, 0.0, 0.0), (0.0, 0.999986, -0.005236)
    n = cross(row, col)  # (0, 0.005236, 0.999986): tilted 0.3 degrees from axial
    alpha, beta, gamma = hand_euler(row, col)
    assert same_angle(alpha, math.pi) and same_angle(gamma, math.pi) and beta == pytest.approx(0.0052360, abs=1e-6)
    d0 = n[1] * -825.019119 + n[2] * -75.097641  # -79.416 (the file's SliceLocation)
    d1 = n[1] * -825.019119 + n[2] * -72.097641
    assert d1 > d0
    infos = [i for name in ("0.dcm", "1.dcm") for i in read_slice_infos(shared_data / "dicom_samples" / name, name)]
    raw = raw_features(infos)
    assert raw["0.dcm"].values["slice_position"] == 0.0 and raw["1.dcm"].values["slice_position"] == 1.0
    v = raw["0.dcm"].values
    assert same_angle(v["euler_alpha"], alpha) and same_angle(v["euler_gamma"], gamma)
    assert v["euler_beta"] == pytest.approx(beta, abs=1e-6)


def test_axial_ct_is_gimbal_lock_at_zero(shared_data: Path) -> None:
    # 693_UNCR.dcm: ImageOrientationPatient [1, 0, 0, 0, 1, 0]: n = (0, 0, 1), beta = 0, gamma := 0,
    # alpha = atan2(row_y, row_x) = atan2(0, 1) = 0
    (info,) = read_slice_infos(shared_data / "dicom_samples" / "693_UNCR.dcm")
    assert info.geometry is not None
    assert info.geometry.euler() == pytest.approx((0.0, 0.0, 0.0))
    (single,) = raw_features([info]).values()
    assert single.values["slice_position"] == 0.5  # a series of one slice: the middle, by definition


def test_multi_frame_per_frame_geometry_and_gimbal_lock_at_pi(shared_data: Path) -> None:
    # eCT_Supplemental.dcm, per-frame functional groups: ImageOrientationPatient [-1, 0, 0, 0, 1, 0],
    # ImagePositionPatient [99.5, -301.5, -159.0] (frame 0) and [99.5, -301.5, -149.0] (frame 1).
    # n = (-1,0,0) x (0,1,0) = (0, 0, -1): beta = pi, gamma := 0, alpha = atan2(row_y, row_x) = atan2(0, -1) = pi;
    # depths n.p = 159 (frame 0) and 149 (frame 1), so frame 0 is the top of the stack.
    infos = read_slice_infos(shared_data / "dicom_samples" / "eCT_Supplemental.dcm", "ect")
    assert [i.key for i in infos] == ["ect#frame=0", "ect#frame=1"]
    raw = raw_features(infos)
    v0 = raw["ect#frame=0"].values
    assert same_angle(v0["euler_alpha"], math.pi) and v0["euler_beta"] == pytest.approx(math.pi)
    assert v0["euler_gamma"] == 0.0
    assert (v0["slice_position"], raw["ect#frame=1"].values["slice_position"]) == (1.0, 0.0)
    assert raw["ect#frame=1"].values["position_z"] == -149.0


def test_msd_hippocampus_affine_by_hand(shared_data: Path) -> None:
    path = shared_data / "msd_hippocampus" / "imagesTr" / "hippocampus_004.nii.gz"
    img = nib.load(path)
    assert img.shape == (36, 52, 38)
    # its affine: identity rotation, 1 mm voxels, origin (1, 1, 1) in RAS
    assert np.array_equal(img.affine, [[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1], [0, 0, 0, 1]])
    # Slice k along axis 2: image rows run along voxel axis 0 (+x RAS = (-1, 0, 0) LPS: the column
    # cosine), columns along voxel axis 1 (+y RAS = (0, -1, 0) LPS: the row cosine); first pixel at
    # voxel (0, 0, k) = (1, 1, 1 + k) RAS = (-1, -1, 1 + k) LPS. n = (0,-1,0) x (-1,0,0) = (0, 0, -1):
    # beta = pi (gimbal lock), gamma := 0, alpha = atan2(row_y, row_x) = atan2(-1, 0) = -pi/2.
    # Depth n.p = -(1 + k): the largest at k = 0, the smallest at k = 37, so relative = (37 - k) / 37.
    infos = volume_slice_infos(img.affine, img.shape[2], 2, "hippocampus_004")
    raw = raw_features(infos)
    for k in (0, 10, 37):
        v = raw[f"hippocampus_004#slice={k}"].values
        assert [v["position_x"], v["position_y"], v["position_z"]] == [-1.0, -1.0, 1.0 + k]
        assert [v["row_x"], v["row_y"], v["row_z"]] == [0.0, -1.0, 0.0]
        assert [v["column_x"], v["column_y"], v["column_z"]] == [-1.0, 0.0, 0.0]
        assert same_angle(v["euler_alpha"], -math.pi / 2) and v["euler_beta"] == pytest.approx(math.pi)
        assert v["euler_gamma"] == 0.0
        assert v["slice_position"] == pytest.approx((37 - k) / 37)
    assert set(raw["hippocampus_004#slice=0"].missing) == set(LOCALIZER_FEATURES)  # a volume has no scout


def test_affine_of_a_dicom_stack_gives_the_dicom_geometry(shared_data: Path) -> None:
    """A converter's affine (LPS -> RAS; voxel axis 0 down the rows, 1 along them, 2 along the
    normal) reproduces the DICOM geometry: the two sources share one frame and one convention."""
    info = next(i for i in sunnybrook_101(shared_data) if i.key == "SCD0000101_0208")
    g = info.geometry
    assert g is not None
    spacing, thickness = 1.367188, 10.0
    lps_to_ras = np.diag([-1.0, -1.0, 1.0])
    affine = np.eye(4)
    affine[:3, 0] = lps_to_ras @ np.asarray(g.column) * spacing
    affine[:3, 1] = lps_to_ras @ np.asarray(g.row) * spacing
    affine[:3, 2] = lps_to_ras @ g.normal * thickness
    affine[:3, 3] = lps_to_ras @ np.asarray(g.position)
    back = affine_geometry(affine, 2, 0)
    assert back.position == pytest.approx(g.position) and back.row == pytest.approx(g.row)
    assert back.column == pytest.approx(g.column) and back.euler() == pytest.approx(g.euler())
    assert affine_geometry(affine, 2, 3).depth() == pytest.approx(g.depth() + 3 * thickness)


@pytest.mark.parametrize(("name", "key"), [("emri_small.dcm", "emri#frame=0"), ("US1_UNCR.dcm", "us")])
def test_missing_tag_error_names_file_and_tag(shared_data: Path, name: str, key: str) -> None:
    infos = read_slice_infos(shared_data / "dicom_samples" / name, key.split("#")[0])
    with pytest.raises(MissingMetadataError, match=rf"{key}: has no ImagePositionPatient.*position_x") as e:
        feature_table(infos, ["position_x", "euler_beta"], fill="error")
    assert isinstance(e.value, BadFileError) and "fill: zero" in str(e.value)
    table = feature_table(infos, ["position_x", "euler_beta"], fill="zero")
    assert np.array_equal(table[key], np.zeros(2, dtype=np.float32))


def _localizer(template: pydicom.Dataset, series: tuple[str, int, int], iop: list[float], ipp: list[float]) -> pydicom.Dataset:
    """A localizer header in the template's study (no real scout ships with the shared data)."""
    ds = copy.deepcopy(template)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = series
    ds.ImageOrientationPatient, ds.ImagePositionPatient = iop, ipp
    return ds


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")  # Sunnybrook's UIDs; pydicom checks on copy
def test_localizer_features_come_from_the_first_localizer_of_the_study(shared_data: Path) -> None:
    path = shared_data / "sunnybrook_lv" / "images" / "SCD0000101_0048.dcm"
    real = pydicom.dcmread(path, stop_before_pixels=True)
    assert not is_localizer(real)
    three_plane, later = generate_uid(), generate_uid()
    # a 3-plane scout series (number 2): coronal first, then sagittal; and an axial scout in series 5
    coronal = _localizer(real, (three_plane, 2, 1), [1, 0, 0, 0, 0, -1], [-150.0, 20.0, 160.0])
    sagittal = _localizer(real, (three_plane, 2, 2), [0, 1, 0, 0, 0, -1], [0.0, -150.0, 160.0])
    axial = _localizer(real, (later, 5, 1), [1, 0, 0, 0, 1, 0], [-150.0, -150.0, 0.0])
    infos = [
        dicom_slice_info(real, "slice"),
        dicom_slice_info(axial, "scout_axial"),
        dicom_slice_info(sagittal, "scout_sagittal"),
        dicom_slice_info(coronal, "scout_coronal"),
    ]
    assert [i.localizer for i in infos] == [False, True, True, True]
    # the coronal scout (series 2, instance 1) serves the study: row (1, 0, 0), column (0, 0, -1);
    # n = (0, 1, 0): alpha = atan2(0, -1) = pi, beta = atan2(1, 0) = pi/2, gamma = atan2(0, -1) = pi
    names = ["localizer_position_x", "localizer_euler_alpha", "localizer_euler_beta", "localizer_euler_gamma",
             "localizer_column_z", "position_y"]
    vector = feature_table(infos, names, fill="zero")["slice"]
    hand = [-150.0, math.pi / 2, -1.0, 22.2895]
    assert vector[[0, 2, 4, 5]] == pytest.approx(logistic(hand), abs=1e-6)
    for i in (1, 3):  # alpha and gamma are pi, up to the sign of zero in the cosines
        assert min(abs(vector[i] - logistic(math.pi)), abs(vector[i] - logistic(-math.pi))) < 1e-6
    raw = raw_features(infos)
    assert "not parallel" in raw["scout_coronal"].missing["slice_position"]  # 3-plane: no stack order
    assert raw["scout_axial"].values["localizer_position_x"] == -150.0  # scouts get the study's scout too


@pytest.mark.parametrize(
    ("description", "image_type", "expected"),
    [
        ("3-plane localizer", ["ORIGINAL", "PRIMARY"], True),
        ("Scout", ["ORIGINAL", "PRIMARY"], True),
        ("SURVEY_Bh", ["ORIGINAL", "PRIMARY"], True),
        ("TriPilot", ["ORIGINAL", "PRIMARY"], True),
        ("cine sax", ["ORIGINAL", "PRIMARY", "LOCALIZER"], True),
        ("cine sax", ["ORIGINAL", "PRIMARY", "CARDIAC"], False),
        ("blood flow", ["ORIGINAL", "PRIMARY"], False),
    ],
)
def test_localizer_recognition(description: str, image_type: list[str], expected: bool) -> None:
    ds = pydicom.Dataset()
    ds.SeriesDescription, ds.ImageType = description, image_type
    assert is_localizer(ds) is expected


def test_non_parallel_series_has_no_slice_position() -> None:
    from automl_al.data.geometry import make_geometry

    axial = make_geometry((0, 0, 0), (1, 0, 0), (0, 1, 0), "a")
    coronal = make_geometry((0, 0, 0), (1, 0, 0), (0, 0, -1), "b")
    infos = [SliceInfo("a", axial, "s", "st"), SliceInfo("b", coronal, "s", "st")]
    raw = raw_features(infos)
    assert "not parallel" in raw["a"].missing["slice_position"]
    with pytest.raises(MissingMetadataError, match="a: lies in series s, whose slices are not parallel"):
        feature_table(infos, ["slice_position"])


def test_corrupt_orientation_follows_the_fill_policy(shared_data: Path) -> None:
    ds = pydicom.dcmread(shared_data / "sunnybrook_lv" / "images" / "SCD0000101_0048.dcm", stop_before_pixels=True)
    ds.ImageOrientationPatient = [1, 0, 0, 1, 0, 0]  # row == column
    info = dicom_slice_info(ds, "bad")
    assert info.geometry is None and "not two orthogonal unit vectors" in str(info.problem)
    with pytest.raises(MissingMetadataError, match="bad: orientation"):
        feature_table([info], ["euler_alpha"])
    assert feature_table([info], ["euler_alpha", "position_x"], fill="zero")["bad"].tolist() == [0.0, 0.0]


def test_feature_selection_by_name_keeps_the_requested_order(shared_data: Path) -> None:
    infos = sunnybrook_101(shared_data)
    full = feature_table(infos, SLICE_FEATURES)["SCD0000101_0128"]
    picked = feature_table(infos, ["slice_position", "euler_beta"])["SCD0000101_0128"]
    assert picked.dtype == np.float32 and picked.tolist() == [full[12], full[4]]
    assert np.all((full > 0) & (full <= 1))


@pytest.mark.parametrize(
    ("names", "fill", "match"),
    [
        (["position_q"], "error", "unknown metadata feature.*position_q.*valid: position_x"),
        (["position_x", "position_x"], "error", "repeat"),
        ([], "error", "no metadata features"),
        (["position_x"], "mean", "unknown metadata fill policy 'mean'"),
    ],
)
def test_bad_feature_requests(names: list[str], fill: str, match: str) -> None:
    info = SliceInfo("a", None, None, None, problem="has no ImagePositionPatient")
    with pytest.raises(MetadataError, match=match):
        feature_table([info], names, fill=fill)  # type: ignore[arg-type]
