"""The one sample record every data source yields, and the errors data discovery raises.

Sources differ (PNG folders, NIfTI volumes, DICOM trees, class folders, the synthetic demo), but
everything downstream (validation, the cache, splits, datasets) sees only :class:`Record`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from automl_al.errors import AutomlAlError


class DataError(AutomlAlError, ValueError):
    """The dataset as a whole cannot be used (empty folder, unknown layout, bad config)."""


class BadFileError(DataError):
    """One file is unusable; the message always names the file and the problem."""

    def __init__(self, path: object, problem: str, *, hint: str = "") -> None:
        super().__init__(f"{path}: {problem}" + (f" ({hint})" if hint else ""))
        self.path = str(path)
        self.problem = problem


def unopenable(path: Path, error: OSError) -> BadFileError:
    """The error for a listed file that cannot be opened; a broken symbolic link (datasets are often
    linked in, nnU-Net style) is named with its target."""
    if path.is_symlink() and not path.exists():
        return BadFileError(path, f"a broken symbolic link to {path.readlink()} (moved or deleted?)")
    return BadFileError(path, f"cannot be read: {error.strerror or error}")


@dataclass
class Record:
    """One 2-D sample.

    ``image`` holds raw intensities ``float32 [C, H, W]`` (before resizing and normalisation);
    ``target`` is ``int64 [H, W]`` (segmentation), an ``int`` (classification) or ``None``
    (unlabeled). ``group`` is the patient or volume: splits never cut a group. ``source`` is the file
    (``path#frame=N`` / ``path#slice=N`` inside a multi-frame file or a volume). ``meta`` is
    JSON-serialisable (DICOM geometry, original size, ...).
    """

    id: str
    image: np.ndarray
    target: np.ndarray | int | None
    group: str
    source: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def labeled(self) -> bool:
        return self.target is not None


@dataclass
class Decoded:
    """One decoded 2-D image from a file: ``image float32 [C, H, W]``, its metadata, and its frame
    index inside a multi-frame file (``None`` for single-frame files)."""

    image: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    frame: int | None = None
