"""Image-geometry metadata (seed S2): where a slice lies and how it is turned, as named features.

S2 feeds a classifier the slice's position, its orientation (proper Euler angles and the two
direction cosines), its relative position in the stack and the localizer (scout) scan's position and
orientation, each squashed with the logistic function. This module computes them from DICOM headers
or from a NIfTI affine; which features a model uses is a list of names (:data:`FEATURES`).

Conventions (one frame for every source, so that a feature means the same wherever it came from):

- Coordinates are DICOM patient coordinates (LPS, mm). A NIfTI affine maps to RAS, so its x and y
  change sign.
- ``row`` is the direction in which the column index grows (the first triple of
  ImageOrientationPatient), ``column`` the direction in which the row index grows (the second), and
  ``normal = row x column``.
- Euler angles are proper, intrinsic z-x-z: ``R = Rz(alpha) Rx(beta) Rz(gamma)`` where ``R`` has
  columns ``row, column, normal`` (it turns the patient axes onto the slice axes). Radians, alpha and
  gamma in [-pi, pi], beta in [0, pi]. At gimbal lock (beta 0 or pi: an axial slice) only
  alpha +- gamma is defined; gamma is then 0 (scipy's convention). Written out, away from the lock:
  ``alpha = atan2(n_x, -n_y)``, ``beta = atan2(hypot(n_x, n_y), n_z)`` (acos(n_z)),
  ``gamma = atan2(row_z, column_z)``.
- The relative slice position is the projection of ImagePositionPatient on the normal, min-max
  scaled over the slices of the same series to [0, 1] (cine frames at one location share a value).
  A series whose slices all lie at one depth gets 0.5; a series of non-parallel slices (a 3-plane
  localizer) has none.
- A localizer is an image whose ImageType holds ``LOCALIZER`` or whose SeriesDescription or
  ProtocolName matches :data:`LOCALIZER_PATTERN` (S2 says only "the scout scan"). A study with several
  localizer images uses the first by (SeriesNumber, InstanceNumber, key), for all its slices.
- Every value is squashed with ``e^x / (e^x + 1)`` as S2 does. Positions in mm beyond about +-10
  saturate to 0 or 1 (S2 squashes them anyway; so do we, to match the method).

A feature that cannot be computed (a missing tag, no localizer in the study) is an error naming the
file and the tag, or, with ``fill="zero"``, the squashed feature is 0.0 (a value no finite input
reaches in float32, except mm positions below about -104, which saturate there).
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from pydicom.dataset import Dataset
from scipy.spatial.transform import Rotation  # type: ignore[import-untyped]
from scipy.special import expit  # type: ignore[import-untyped]

from automl_al.data.readers.dicom import frame_count, frame_meta, read_header
from automl_al.data.records import BadFileError, DataError

Fill = Literal["zero", "error"]
Vector3 = tuple[float, float, float]

_GEOMETRY_NAMES = (
    "position_x", "position_y", "position_z",
    "euler_alpha", "euler_beta", "euler_gamma",
    "row_x", "row_y", "row_z",
    "column_x", "column_y", "column_z",
)
SLICE_FEATURES: tuple[str, ...] = (*_GEOMETRY_NAMES, "slice_position")
LOCALIZER_FEATURES: tuple[str, ...] = tuple(f"localizer_{name}" for name in _GEOMETRY_NAMES)
FEATURES: tuple[str, ...] = (*SLICE_FEATURES, *LOCALIZER_FEATURES)
"""Every feature name, in the order of a full vector (25 values)."""

LOCALIZER_PATTERN = re.compile(r"locali[sz]er|scout|survey|tri-?pilot|\bloc\b", re.IGNORECASE)
"""SeriesDescription / ProtocolName of a localizer series, when ImageType does not say LOCALIZER."""

_UNIT_TOLERANCE = 1e-2  # stored cosines are rounded decimal strings; a typo is far larger
_PARALLEL_TOLERANCE = 1e-3  # |n_i . n_0| >= 1 - this: the slices of a series form one stack


class MetadataError(DataError):
    """Metadata features asked for in a way that cannot work (an unknown name, an unknown fill)."""


class MissingMetadataError(BadFileError):
    """One image lacks what a requested feature needs; names the file, the tag and the features."""


def logistic(x: ArrayLike) -> np.ndarray:
    """S2's squashing ``e^x / (e^x + 1)``, computed without overflow (scipy's ``expit``)."""
    return np.asarray(expit(np.asarray(x, dtype=np.float64)))


@dataclass(frozen=True)
class SliceGeometry:
    """Where one 2-D image lies in patient space (LPS, mm) and how it is turned."""

    position: Vector3  # centre of the first transmitted pixel (ImagePositionPatient)
    row: Vector3  # unit direction in which the column index grows
    column: Vector3  # unit direction in which the row index grows

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.row, self.column)

    def rotation(self) -> np.ndarray:
        """``[3, 3]`` with columns row, column, normal."""
        return np.column_stack([self.row, self.column, self.normal])

    def euler(self) -> Vector3:
        """Proper z-x-z Euler angles ``(alpha, beta, gamma)`` of :meth:`rotation` (see module doc)."""
        with warnings.catch_warnings():  # gimbal lock is expected for axial slices; gamma = 0 then
            warnings.filterwarnings("ignore", message="Gimbal lock detected")
            angles = Rotation.from_matrix(self.rotation()).as_euler("ZXZ")
        return (float(angles[0]), float(angles[1]), float(angles[2]))

    def depth(self) -> float:
        """Signed distance of the position along the normal (orders a stack of parallel slices)."""
        return float(self.normal @ np.asarray(self.position))

    def values(self, prefix: str = "") -> dict[str, float]:
        """The 12 geometry features, raw (not squashed), named as in :data:`FEATURES`."""
        numbers = (*self.position, *self.euler(), *self.row, *self.column)
        return {f"{prefix}{name}": float(v) for name, v in zip(_GEOMETRY_NAMES, numbers, strict=True)}


def make_geometry(position: ArrayLike, row: ArrayLike, column: ArrayLike, source: str) -> SliceGeometry:
    """A :class:`SliceGeometry` from raw vectors; ``row``/``column`` are normalised after checking that
    they are unit length within rounding and orthogonal. Raises :class:`MissingMetadataError`
    naming ``source`` otherwise (a corrupt orientation)."""
    p, r, c = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (position, row, column))
    if p.shape != (3,) or r.shape != (3,) or c.shape != (3,) or not np.all(np.isfinite([*p, *r, *c])):
        raise MissingMetadataError(source, f"geometry is not three finite 3-vectors: {p}, {r}, {c}")
    nr, nc = float(np.linalg.norm(r)), float(np.linalg.norm(c))
    if abs(nr - 1) > _UNIT_TOLERANCE or abs(nc - 1) > _UNIT_TOLERANCE or abs(r @ c) > _UNIT_TOLERANCE:
        raise MissingMetadataError(
            source,
            f"orientation {[*r, *c]} is not two orthogonal unit vectors "
            f"(lengths {nr:.4f}, {nc:.4f}, dot {float(r @ c):.4f})",
            hint="a corrupt ImageOrientationPatient or a sheared affine; fix or drop the file",
        )
    return SliceGeometry(_vec(p), _vec(r / nr), _vec(c / nc))


def _vec(a: np.ndarray) -> Vector3:
    return (float(a[0]), float(a[1]), float(a[2]))


@dataclass(frozen=True)
class SliceInfo:
    """What the features of one 2-D image need; built from a DICOM header or a NIfTI affine.

    ``problem`` says why ``geometry`` is None (e.g. "has no ImagePositionPatient"); ``series`` groups
    the slices whose depths are scaled together, ``study`` the images that share a localizer (None:
    the tag is absent, so the features that need it are missing).
    """

    key: str
    geometry: SliceGeometry | None
    series: str | None
    study: str | None
    localizer: bool = False
    order: tuple[int, int] = (0, 0)  # (SeriesNumber, InstanceNumber): which localizer comes first
    problem: str | None = None


def geometry_from_meta(meta: Mapping[str, Any], source: str) -> tuple[SliceGeometry | None, str | None]:
    """``(geometry, None)`` from a frame's metadata (``readers.dicom.frame_meta``: the keys
    ImagePositionPatient and ImageOrientationPatient), or ``(None, problem)`` saying what is absent
    or corrupt, so that the fill policy decides, not this function."""
    position, orientation = meta.get("ImagePositionPatient"), meta.get("ImageOrientationPatient")
    if position is None or len(position) != 3:
        return None, "has no ImagePositionPatient"
    if orientation is None or len(orientation) != 6:
        return None, "has no ImageOrientationPatient"
    try:
        return make_geometry(position, orientation[:3], orientation[3:], source), None
    except MissingMetadataError as e:
        return None, e.problem


def is_localizer(ds: Dataset, pattern: re.Pattern[str] = LOCALIZER_PATTERN) -> bool:
    """ImageType holds LOCALIZER, or SeriesDescription / ProtocolName matches ``pattern``."""
    image_type = ds.get("ImageType") or []
    if isinstance(image_type, str):
        image_type = image_type.split("\\")
    if any(str(v).strip().upper() == "LOCALIZER" for v in image_type):
        return True
    text = " ".join(str(ds.get(k) or "") for k in ("SeriesDescription", "ProtocolName"))
    return bool(pattern.search(text))


def dicom_slice_info(ds: Dataset, key: str, frame: int = 0) -> SliceInfo:
    """The :class:`SliceInfo` of frame ``frame`` of a DICOM header (per-frame functional groups of
    enhanced multi-frame files included, through ``readers.dicom.frame_meta``)."""
    meta = frame_meta(ds, frame)
    geometry, problem = geometry_from_meta(meta, key)
    return SliceInfo(
        key=key,
        geometry=geometry,
        series=meta.get("SeriesInstanceUID"),
        study=meta.get("StudyInstanceUID"),
        localizer=is_localizer(ds),
        order=(_int(ds.get("SeriesNumber")), _int(ds.get("InstanceNumber"))),
        problem=problem,
    )


def _int(value: object) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def read_slice_infos(path: Path, key: str | None = None) -> list[SliceInfo]:
    """One :class:`SliceInfo` per frame of a DICOM file (header only). Keys are ``key`` (default: the
    path), with ``#frame=N`` appended for multi-frame files, as data source record ids are."""
    ds = read_header(Path(path))
    key = str(path) if key is None else key
    frames = frame_count(ds)
    return [dicom_slice_info(ds, key if frames == 1 else f"{key}#frame={i}", i) for i in range(frames)]


def affine_geometry(affine: ArrayLike, axis: int, index: int) -> SliceGeometry:
    """Geometry of slice ``index`` along voxel ``axis`` of a NIfTI volume, in LPS.

    The slice image keeps the other two voxel axes in order (as ``readers.nifti.slices`` does):
    its rows run along the first (the column cosine), its columns along the second (the row cosine).
    """
    a = np.asarray(affine, dtype=np.float64)
    if a.shape != (4, 4) or axis not in (0, 1, 2):
        raise ValueError(f"need a 4x4 affine and axis 0, 1 or 2, but got shape {a.shape} and axis {axis}")
    ras_to_lps = np.array([-1.0, -1.0, 1.0])
    first, second = (i for i in range(3) if i != axis)
    voxel = np.zeros(4)
    voxel[axis], voxel[3] = index, 1.0
    position = (a @ voxel)[:3] * ras_to_lps
    row = a[:3, second] * ras_to_lps
    column = a[:3, first] * ras_to_lps
    source = f"affine slice {index} along axis {axis}"
    return make_geometry(position, row / np.linalg.norm(row), column / np.linalg.norm(column), source)


def volume_slice_infos(affine: ArrayLike, depth: int, axis: int, key: str) -> list[SliceInfo]:
    """A :class:`SliceInfo` for each of the ``depth`` slices along ``axis`` of one volume (its own
    series and study; keys ``{key}#slice={i}``, as the MSD source's ``source`` field). A volume has
    no localizer: localizer features are missing (error or fill)."""
    return [
        SliceInfo(key=f"{key}#slice={i}", geometry=affine_geometry(affine, axis, i), series=key, study=key,
                  order=(0, i))
        for i in range(depth)
    ]


@dataclass
class RawFeatures:
    """Unsquashed feature values of one image, and why each absent feature is absent."""

    values: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


def raw_features(infos: Sequence[SliceInfo]) -> dict[str, RawFeatures]:
    """Every feature of :data:`FEATURES` for each image, by key; relative positions are computed
    within each series over the images given (give all images of a series, labeled or not)."""
    keys = [info.key for info in infos]
    if len(set(keys)) != len(keys):
        raise MetadataError(f"slice keys must be unique, but {len(keys) - len(set(keys))} repeat")
    relative, unordered = _relative_positions(infos)
    localizers = _study_localizers(infos)
    out: dict[str, RawFeatures] = {}
    for info in infos:
        raw = RawFeatures()
        if info.geometry is None:
            raw.missing.update(dict.fromkeys(SLICE_FEATURES, str(info.problem)))
        else:
            raw.values.update(info.geometry.values())
            if info.key in relative:
                raw.values["slice_position"] = relative[info.key]
        if info.key in unordered:
            raw.missing["slice_position"] = unordered[info.key]
        scout = localizers.get(info.study) if info.study is not None else None
        if scout is not None:
            raw.values.update(scout.values("localizer_"))
        else:
            why = "has no StudyInstanceUID" if info.study is None else (
                f"has no localizer (scout) image with geometry in its study {info.study}")
            raw.missing.update(dict.fromkeys(LOCALIZER_FEATURES, why))
        out[info.key] = raw
    return out


def _relative_positions(infos: Sequence[SliceInfo]) -> tuple[dict[str, float], dict[str, str]]:
    """``(key -> depth min-max scaled within its series, key -> why it has none)``.

    Depths are projections on the normal of the series' first slice, so a slice stored flipped
    (normal reversed) still lands in stack order."""
    series: dict[str, list[tuple[str, SliceGeometry]]] = defaultdict(list)
    relative: dict[str, float] = {}
    unordered: dict[str, str] = {}
    for info in infos:
        if info.series is None and info.geometry is not None:
            unordered[info.key] = "has no SeriesInstanceUID"
        elif info.series is not None and info.geometry is not None:
            series[info.series].append((info.key, info.geometry))
    for uid, members in series.items():
        normal = members[0][1].normal
        if any(abs(float(g.normal @ normal)) < 1 - _PARALLEL_TOLERANCE for _, g in members):
            unordered.update((key, f"lies in series {uid}, whose slices are not parallel (no stack order)")
                             for key, _ in members)
            continue
        depths = [float(normal @ np.asarray(g.position)) for _, g in members]
        lo, hi = min(depths), max(depths)
        relative.update((key, (d - lo) / (hi - lo) if hi > lo else 0.5) for (key, _), d in zip(members, depths))
    return relative, unordered


def _study_localizers(infos: Sequence[SliceInfo]) -> dict[str, SliceGeometry]:
    """Study -> geometry of its first localizer image by (SeriesNumber, InstanceNumber, key)."""
    best: dict[str, tuple[tuple[int, int], str, SliceGeometry]] = {}
    for info in infos:
        if info.localizer and info.geometry is not None and info.study is not None:
            candidate = (info.order, info.key, info.geometry)
            if info.study not in best or candidate[:2] < best[info.study][:2]:
                best[info.study] = candidate
    return {study: geometry for study, (_, _, geometry) in best.items()}


def check_features(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple after checking each is in :data:`FEATURES` and none repeats."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise MetadataError(f"unknown metadata feature(s) {unknown}; valid: {', '.join(FEATURES)}")
    if len(set(names)) != len(names):
        raise MetadataError(f"metadata features repeat: {sorted(n for n in set(names) if list(names).count(n) > 1)}")
    if not names:
        raise MetadataError("no metadata features named; name at least one, e.g. " + ", ".join(SLICE_FEATURES[:3]))
    return tuple(names)


def feature_vector(raw: RawFeatures, names: Sequence[str], *, fill: Fill, source: str) -> np.ndarray:
    """``float32 [len(names)]``: each named feature squashed with :func:`logistic`; a missing one is
    0.0 with ``fill="zero"``, a :class:`MissingMetadataError` naming ``source`` with ``"error"``."""
    if fill not in ("zero", "error"):
        raise MetadataError(f"unknown metadata fill policy {fill!r}; valid: zero, error")
    absent = [n for n in names if n not in raw.values]
    if absent and fill == "error":
        reason = raw.missing.get(absent[0], "lacks them")
        raise MissingMetadataError(
            source, f"{reason}, needed for the metadata feature(s) {absent}",
            hint="drop those features from the metadata feature list, or fill them with zeros (fill: zero)",
        )
    out = np.zeros(len(names), dtype=np.float32)
    for i, name in enumerate(names):
        if name in raw.values:
            out[i] = logistic(raw.values[name])
    return out


def feature_table(
    infos: Sequence[SliceInfo], names: Sequence[str] = FEATURES, *, fill: Fill = "error"
) -> dict[str, np.ndarray]:
    """Key -> squashed feature vector ``float32 [len(names)]`` for every image in ``infos``."""
    names = check_features(names)
    return {key: feature_vector(raw, names, fill=fill, source=key) for key, raw in raw_features(infos).items()}


__all__ = [
    "FEATURES",
    "LOCALIZER_FEATURES",
    "LOCALIZER_PATTERN",
    "SLICE_FEATURES",
    "MetadataError",
    "MissingMetadataError",
    "RawFeatures",
    "SliceGeometry",
    "SliceInfo",
    "affine_geometry",
    "check_features",
    "dicom_slice_info",
    "feature_table",
    "feature_vector",
    "geometry_from_meta",
    "is_localizer",
    "logistic",
    "make_geometry",
    "raw_features",
    "read_slice_infos",
    "volume_slice_infos",
]
