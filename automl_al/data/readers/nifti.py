"""NIfTI volumes (MSD / nnU-Net layout): read once with nibabel, then cut into 2-D slices.

A volume is decoded in full exactly once (``.nii.gz`` must be decompressed anyway); slicing is then
a view, so a 36-slice volume costs one read, not 36.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError

from automl_al.data.records import BadFileError, unopenable


@dataclass
class Volume:
    """``data`` is ``[X, Y, Z]`` or ``[X, Y, Z, C]`` as stored; ``meta`` is JSON-serialisable."""

    data: np.ndarray
    meta: dict[str, Any]

    @property
    def spatial_shape(self) -> tuple[int, int, int]:
        return tuple(self.data.shape[:3])  # type: ignore[return-value]


def read_volume(path: Path) -> Volume:
    """Decode a 3-D (or 4-D, channels last) NIfTI file; ``BadFileError`` naming it when unusable."""
    try:
        img = nib.load(path)
        data = np.asanyarray(img.dataobj)
    except (FileNotFoundError, PermissionError) as e:
        raise unopenable(Path(path), e) from None
    except (ImageFileError, OSError, EOFError, ValueError, gzip.BadGzipFile, zlib.error) as e:
        raise BadFileError(path, f"unreadable NIfTI file (truncated or not NIfTI): {e}") from None
    if data.ndim not in (3, 4):
        raise BadFileError(path, f"expected a 3-D volume (or 4-D with channels last), got shape {data.shape}")
    meta = {
        "affine": np.asarray(img.affine, dtype=float).tolist(),
        "spacing": [float(z) for z in img.header.get_zooms()[:3]],
        "volume_shape": [int(s) for s in data.shape[:3]],
    }
    return Volume(data=data, meta=meta)


def channels_first(data: np.ndarray) -> np.ndarray:
    """``[X, Y, Z]`` -> ``[1, X, Y, Z]``; ``[X, Y, Z, C]`` -> ``[C, X, Y, Z]``."""
    return data[None] if data.ndim == 3 else np.moveaxis(data, -1, 0)


def slices(volume: np.ndarray, axis: int) -> np.ndarray:
    """Channels-first ``[C, X, Y, Z]`` -> ``[S, C, H, W]`` slices along spatial ``axis`` (a view)."""
    return np.moveaxis(volume, axis + 1, 0)
