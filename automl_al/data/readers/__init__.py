"""File readers: one function per file kind, each returning raw arrays plus JSON-able metadata.

``read_image(path)`` dispatches on the suffix (PNG, JPEG, BMP via Pillow; TIFF via tifffile;
``.dcm`` or any file with the ``DICM`` preamble via pydicom). Every reader returns a list of
:class:`Decoded` (one per frame: DICOM multi-frame files and TIFF stacks expand to several) and
raises ``BadFileError`` naming the file on anything unreadable, so a bad file is found when the
data is prepared, never halfway through training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from automl_al.data.records import BadFileError, Decoded, unopenable

PILLOW_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}
TIFF_SUFFIXES = {".tif", ".tiff"}
DICOM_SUFFIXES = {".dcm", ".dicom"}
IMAGE_SUFFIXES = PILLOW_SUFFIXES | TIFF_SUFFIXES | DICOM_SUFFIXES
MASK_SUFFIXES = {".png", ".tif", ".tiff"}
_READ_ERRORS = (OSError, ValueError, SyntaxError, UnidentifiedImageError, Image.DecompressionBombError,
                tifffile.TiffFileError)


def has_dicom_preamble(path: Path) -> bool:
    """DICOM part 10 files carry ``DICM`` at byte 128 (scanner exports often have no suffix)."""
    try:
        with open(path, "rb") as f:
            return f.read(132)[128:] == b"DICM"
    except OSError:
        return False


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES or has_dicom_preamble(path)


def _require_bytes(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as e:
        raise unopenable(path, e) from None
    if size == 0:
        raise BadFileError(path, "empty file (0 bytes)")


def _pillow_array(path: Path) -> np.ndarray:
    """Pixels as stored: grey [H, W] (8/16/32-bit or float) or [H, W, 3|4] colour."""
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("1", "L", "I", "I;16", "I;16B", "I;16L", "F", "RGB", "RGBA"):
                return np.asarray(img)
            return np.asarray(img.convert("RGBA" if "A" in img.getbands() else "RGB"))
    except _READ_ERRORS as e:
        raise BadFileError(path, f"unreadable or truncated image: {e}") from None


def _tiff_array(path: Path) -> np.ndarray:
    try:
        return tifffile.imread(path)
    except _READ_ERRORS as e:
        raise BadFileError(path, f"unreadable or truncated TIFF: {e}") from None


def _frames(array: np.ndarray, path: Path) -> list[Decoded]:
    """[H, W] grey, [H, W, 3|4] colour, [F, H, W] stack or [F, H, W, 3|4] -> Decoded [C, H, W] per frame."""
    a = np.asarray(array)
    colour = a.ndim in (3, 4) and a.shape[-1] in (3, 4)
    if a.ndim == 2 or (a.ndim == 3 and colour):
        a, multi = a[None], False
    elif a.ndim == 3 or (a.ndim == 4 and colour):
        multi = True
    else:
        raise BadFileError(path, f"unsupported image array shape {a.shape}; expected 2-D grey or RGB")
    out = []
    for i, frame in enumerate(a):
        image = np.moveaxis(frame, -1, 0) if colour else frame[None]
        meta = {"original_size": list(image.shape[1:])}
        out.append(Decoded(image.astype(np.float32), meta, i if multi else None))
    return out


def read_image(path: Path) -> list[Decoded]:
    """Decode an image file to ``float32 [C, H, W]`` frames (raw intensities, no normalisation)."""
    path = Path(path)
    _require_bytes(path)
    suffix = path.suffix.lower()
    if suffix in DICOM_SUFFIXES or (suffix not in PILLOW_SUFFIXES | TIFF_SUFFIXES and has_dicom_preamble(path)):
        from automl_al.data.readers.dicom import read_dicom  # pydicom only when DICOM is met

        return read_dicom(path)
    if suffix in TIFF_SUFFIXES:
        return _frames(_tiff_array(path), path)
    if suffix in PILLOW_SUFFIXES:
        return _frames(_pillow_array(path), path)
    raise BadFileError(path, f"not a supported image (suffix {suffix or 'none'!r}); use PNG, JPEG, BMP, TIFF or DICOM")


def read_mask(path: Path) -> np.ndarray:
    """A label mask as ``int64 [H, W]`` class indices; binary {0, 255} masks become {0, 1}.

    A colour file whose channels are equal (a grey mask saved as RGB) is accepted; anything else
    that is not one plane of integers is refused naming the file.
    """
    path = Path(path)
    _require_bytes(path)
    suffix = path.suffix.lower()
    if suffix not in MASK_SUFFIXES:
        raise BadFileError(path, f"masks must be PNG or TIFF, not {suffix or 'no suffix'!r}")
    a = _tiff_array(path) if suffix in TIFF_SUFFIXES else _pillow_array(path)
    if a.dtype == bool:  # 1-bit PNG
        a = a.astype(np.uint8)
    if a.ndim == 3 and a.shape[-1] in (3, 4) and (a[..., :3] == a[..., :1]).all():
        a = a[..., 0]
    if a.ndim != 2:
        raise BadFileError(path, f"a mask must be one grey plane of class indices, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer) and not np.array_equal(a, np.round(a)):
        raise BadFileError(path, "mask values must be whole class indices, got fractional values")
    mask = a.astype(np.int64)
    if set(np.unique(mask).tolist()) <= {0, 255}:
        mask //= 255
    return mask
