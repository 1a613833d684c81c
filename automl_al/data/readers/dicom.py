"""DICOM reader: pixels in physical units (modality LUT), grey, one :class:`Decoded` per frame.

Why each step:
- Modality LUT / rescale turns stored values into physical units (CT Hounsfield units), so images
  from scanners with different rescale slopes are comparable.
- The VOI window (``WindowCenter``/``WindowWidth`` or a VOI LUT) is what the radiologist looked at;
  by default it is applied only when the file carries one (``apply_voi=False`` keeps modality values).
- Models take one grey channel: RGB / YBR (ultrasound) and palette images become luminance, and
  MONOCHROME1 (white = low) is inverted so that bright always means high signal.
- Enhanced multi-frame files keep their geometry and rescale per frame in functional groups; each
  frame gets its own flattened view of them.
- A DICOM-SEG object is a label map, not an image: refused with a message saying so.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, convert_color_space

from automl_al.data.records import BadFileError, Decoded

SEGMENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"

# ITU-R BT.601 luma weights (the ones YBR_FULL is defined with).
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)

# Attributes a frame view needs for the LUTs, and the geometry copied into ``meta``.
_LUT_KEYWORDS = (
    "BitsAllocated", "BitsStored", "PixelRepresentation", "PhotometricInterpretation",
    "SamplesPerPixel", "ModalityLUTSequence", "RescaleSlope", "RescaleIntercept", "RescaleType",
    "WindowCenter", "WindowWidth", "VOILUTFunction", "VOILUTSequence",
)
_TEXT_META = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "Modality")
_VECTOR_META = ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing")
_SCALAR_META = ("SliceThickness",)
_GEOMETRY = (*_VECTOR_META, *_SCALAR_META)
# Functional-group macros whose single item holds per-frame attributes.
_FRAME_MACROS = (
    "PlanePositionSequence", "PlaneOrientationSequence", "PixelMeasuresSequence",
    "PixelValueTransformationSequence", "FrameVOILUTSequence",
)


def read_dicom(path: Path, *, apply_voi: bool = True) -> list[Decoded]:
    """Decode every frame of a DICOM image file to ``float32 [1, H, W]`` with its metadata.

    ``apply_voi=True`` applies the file's own VOI window/LUT when it carries one; ``False`` keeps
    modality-LUT values (e.g. Hounsfield units). Raises :class:`BadFileError` naming the file for a
    non-DICOM file, a truncated one, a file without pixel data, or a DICOM-SEG label object.
    """
    path = Path(path)
    with _quiet():
        ds = read_header(path, pixels=True)
        pixels = _decode(ds, path)
        frames = frame_count(ds)
        stack = pixels if frames > 1 else pixels[None]
        grey = _to_grey(stack, ds)
        out = []
        for i in range(frames):
            image = _apply_luts(grey[i], frame_view(ds, i), apply_voi)
            out.append(Decoded(image[None].astype(np.float32), frame_meta(ds, i), i if frames > 1 else None))
    return out


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence pydicom's invalid-UID/VR warnings (both the warning and its log line): vendor quirks
    the user cannot fix and we tolerate."""
    settings = pydicom.config.settings
    mode = settings.reading_validation_mode
    settings.reading_validation_mode = pydicom.config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        settings.reading_validation_mode = mode


def read_header(path: Path, *, pixels: bool = False) -> Dataset:
    """Read a DICOM file (pixel data deferred unless ``pixels``), refusing what is not an image."""
    try:
        with _quiet():
            ds = pydicom.dcmread(path, force=False, stop_before_pixels=not pixels)
    except InvalidDicomError as e:
        raise BadFileError(path, f"not a DICOM file ({e}); DICOM files start with a 128-byte preamble and 'DICM'") from None
    except (OSError, EOFError, ValueError, KeyError, TypeError) as e:
        raise BadFileError(path, f"unreadable DICOM file (truncated or corrupt): {e}") from None
    if ds.get("SOPClassUID") == SEGMENTATION_STORAGE:
        raise BadFileError(
            path,
            "is a DICOM-SEG segmentation object (a label map, not an image); "
            "give masks as PNG/TIFF in a masks/ folder beside the images",
        )
    return ds


def _decode(ds: Dataset, path: Path) -> np.ndarray:
    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        raise BadFileError(path, "has no pixel data (a report, structured report or presentation state?)")
    try:
        ds.pixel_array_options(as_rgb=False)  # YBR converted explicitly in _to_grey
        return np.asarray(ds.pixel_array)
    except Exception as e:  # pydicom raises many kinds for truncated/compressed data
        raise BadFileError(path, f"pixel data cannot be decoded (truncated file or missing codec): {e}") from None


def frame_count(ds: Dataset) -> int:
    """Frames in the file: ``NumberOfFrames``, or 1 when absent or empty."""
    return int(ds.get("NumberOfFrames") or 1)


def _to_grey(stack: np.ndarray, ds: Dataset) -> np.ndarray:
    """``[F, H, W]`` or ``[F, H, W, 3]`` -> ``[F, H, W]``; colour becomes BT.601 luminance."""
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if photometric == "PALETTE COLOR":
        stack = apply_color_lut(stack, ds)
    elif photometric.startswith("YBR"):
        stack = convert_color_space(stack, photometric, "RGB", per_frame=True)  # stack is [F, H, W, 3]
    if stack.ndim == 4:
        return stack.astype(np.float64) @ LUMA
    return stack


def _apply_luts(image: np.ndarray, view: Dataset, apply_voi: bool) -> np.ndarray:
    photometric = str(view.get("PhotometricInterpretation", "MONOCHROME2"))
    if not photometric.startswith("MONOCHROME"):  # LUTs are defined for grey images only
        return image.astype(np.float64)
    out = apply_modality_lut(image, view).astype(np.float64)
    if apply_voi:
        out = np.asarray(apply_voi_lut(out, view), dtype=np.float64)
    if photometric == "MONOCHROME1":
        out = out.max() + out.min() - out
    return out


def frame_view(ds: Dataset, index: int) -> Dataset:
    """A small dataset with the LUT and geometry attributes that apply to frame ``index``: top level,
    overridden by the shared functional groups, overridden by the frame's own groups."""
    view = Dataset()
    if hasattr(ds, "file_meta"):
        view.file_meta = ds.file_meta
    for keyword in (*_LUT_KEYWORDS, *_GEOMETRY):
        if keyword in ds:
            view[keyword] = ds[keyword]
    for groups in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        seq = ds.get(groups)
        if not seq:
            continue
        item = seq[0] if groups.startswith("Shared") else (seq[index] if index < len(seq) else None)
        if item is None:
            continue
        for macro in _FRAME_MACROS:
            if item.get(macro):
                for element in item[macro][0]:
                    view[element.tag] = element
    return view


def frame_meta(ds: Dataset, index: int) -> dict[str, Any]:
    """JSON-serialisable identity and geometry of one frame; absent attributes stay absent."""
    with _quiet():  # pydicom validates values (e.g. UIDs) lazily, on first access
        return _frame_meta(ds, index)


def _frame_meta(ds: Dataset, index: int) -> dict[str, Any]:
    view = frame_view(ds, index)
    meta: dict[str, Any] = {}
    for keyword in _TEXT_META:
        value = ds.get(keyword)
        if value not in (None, ""):
            meta[keyword] = str(value)
    for keyword in _VECTOR_META:
        value = view.get(keyword)
        if value not in (None, ""):
            meta[keyword] = [float(v) for v in value]
    for keyword in _SCALAR_META:
        value = view.get(keyword)
        if value not in (None, ""):
            meta[keyword] = float(value)
    number = ds.get("InstanceNumber")
    if number not in (None, ""):
        meta["InstanceNumber"] = int(number)
    return meta


def slice_position(meta: dict[str, Any]) -> float | None:
    """Distance along the slice normal, ``cross(row, col) . position``; None without geometry."""
    orientation = meta.get("ImageOrientationPatient")
    position = meta.get("ImagePositionPatient")
    if orientation is None or position is None or len(orientation) != 6 or len(position) != 3:
        return None
    normal = np.cross(np.asarray(orientation[:3]), np.asarray(orientation[3:]))
    return float(normal @ np.asarray(position))


def series_indices(metas: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Position of each image within its series (``SeriesInstanceUID``), ordered along the slice
    normal, then by ``InstanceNumber``, then by key. Keys: any id (e.g. record ids)."""
    series: dict[str, list[str]] = {}
    for key, meta in metas.items():
        series.setdefault(str(meta.get("SeriesInstanceUID", "")), []).append(key)

    def order(key: str) -> tuple[float, int, str]:
        position = slice_position(metas[key])
        return (position if position is not None else 0.0, int(metas[key].get("InstanceNumber", 0)), key)

    out: dict[str, int] = {}
    for keys in series.values():
        for i, key in enumerate(sorted(keys, key=order)):
            out[key] = i
    return out
