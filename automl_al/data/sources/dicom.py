"""A tree of DICOM files (any folder depth), optionally with PNG/TIFF masks in a ``masks/`` folder.

Layout (e.g. Sunnybrook)::

    root/images/<name>.dcm      root/masks/<name>.png      root/unlabeled/<name>.dcm

A file is DICOM when it ends in ``.dcm``/``.dicom`` or carries the ``DICM`` preamble (scanner exports
often have no suffix); anything else (``.txt``, ``.png``, ``DICOMDIR``) is skipped silently. The
nearest ``masks/`` folder above a file holds its mask, matched by stem (``<stem>_frame<N>`` for frame
N of a multi-frame file); an image without a mask is unlabeled. Files are read twice: headers first
(cheap) to order each series along the slice normal (``meta["series_index"]``), then pixels, one
file at a time, so records stream without holding the dataset in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from automl_al.config import DataConfig
from automl_al.data.problems import Problems
from automl_al.data.readers import DICOM_SUFFIXES, MASK_SUFFIXES, has_dicom_preamble, read_mask
from automl_al.data.readers.dicom import frame_count, frame_meta, read_dicom, read_header, series_indices
from automl_al.data.records import BadFileError, DataError, Record
from automl_al.data.sources import SOURCES

_NOT_IMAGES = {"DICOMDIR"}


def is_dicom_file(path: Path) -> bool:
    """``.dcm``/``.dicom`` suffix, or the ``DICM`` magic at byte 128 (suffix-less scanner exports)."""
    if path.name in _NOT_IMAGES or path.name.startswith("."):
        return False
    return path.suffix.lower() in DICOM_SUFFIXES or has_dicom_preamble(path)


def find_dicom_files(root: Path) -> list[Path]:
    """DICOM files under ``root`` (sorted, so ids and order are reproducible), outside ``masks/``;
    a broken link named ``*.dcm`` is kept, so that reading it reports it."""
    return sorted(
        p for p in root.rglob("*")
        if not p.is_dir() and "masks" not in p.relative_to(root).parts[:-1] and is_dicom_file(p)
    )


def record_id(root: Path, path: Path, frame: int | None) -> str:
    """Relative path without a DICOM suffix (``images/p1_0048``), plus ``#frame=N`` for frame N."""
    relative = path.relative_to(root)
    if path.suffix.lower() in DICOM_SUFFIXES:
        relative = relative.with_suffix("")
    return relative.as_posix() if frame is None else f"{relative.as_posix()}#frame={frame}"


def group_of(meta: dict[str, Any], stem: str, pattern: str | None) -> str:
    """PatientID, else the ``data.group_pattern`` match on the file stem, else the stem."""
    if meta.get("PatientID"):
        return str(meta["PatientID"])
    match = re.search(pattern, stem) if pattern else None
    if match:
        return match.group(1) if match.groups() else match.group(0)
    return stem


def find_mask(root: Path, path: Path, frame: int | None) -> Path | None:
    """The mask of ``path`` (frame ``frame``) in the nearest ``masks/`` folder up to ``root``."""
    stem = path.stem if frame is None else f"{path.stem}_frame{frame}"
    folder = path.parent
    while True:
        masks = folder / "masks"
        if masks.is_dir():
            for suffix in sorted(MASK_SUFFIXES):
                if (masks / f"{stem}{suffix}").is_file():
                    return masks / f"{stem}{suffix}"
            return None
        if folder == root or root not in folder.parents:
            return None
        folder = folder.parent


def _headers(files: list[Path], root: Path, problems: Problems) -> tuple[list[Path], dict[str, dict[str, Any]]]:
    """The files whose header reads, and record id -> header metadata per frame (no pixels decoded)."""
    readable: list[Path] = []
    metas: dict[str, dict[str, Any]] = {}
    for path in files:
        try:
            ds = read_header(path)
        except BadFileError as e:
            problems.report(e.path, e.problem)
            continue
        readable.append(path)
        frames = frame_count(ds)
        for i in range(frames):
            metas[record_id(root, path, i if frames > 1 else None)] = frame_meta(ds, i)
    return readable, metas


@SOURCES.register("dicom")
def dicom_source(cfg: DataConfig, problems: Problems) -> Iterator[Record]:
    """One record per frame of every DICOM image under ``data.path``."""
    root = Path(cfg.path)  # type: ignore[arg-type]  # DataConfig requires a path for this source
    if not root.is_dir():
        raise DataError(f"{root}: data.path is not a folder (source 'dicom' walks a folder of DICOM files)")
    files = find_dicom_files(root)
    if not files:
        raise DataError(f"{root}: no DICOM files found (.dcm/.dicom files or files with the DICM preamble)")
    readable, metas = _headers(files, root, problems)
    positions = series_indices(metas)
    for path in readable:
        try:
            decoded = read_dicom(path)
        except BadFileError as e:
            problems.report(e.path, e.problem)
            continue
        for d in decoded:
            record = _record(root, path, d.image, d.meta, d.frame, positions, cfg, problems)
            if record is not None:
                yield record


def _record(
    root: Path, path: Path, image: np.ndarray, meta: dict[str, Any], frame: int | None,
    positions: dict[str, int], cfg: DataConfig, problems: Problems,
) -> Record | None:
    rid = record_id(root, path, frame)
    target = None
    mask_path = find_mask(root, path, frame)
    if mask_path is not None:
        try:
            target = read_mask(mask_path)
        except BadFileError as e:
            problems.report(e.path, e.problem)
            return None
        if target.shape != image.shape[1:]:
            problems.report(
                mask_path,
                f"mask shape {target.shape} differs from image shape {image.shape[1:]} of {path}",
            )
            return None
    source = str(path) if frame is None else f"{path}#frame={frame}"
    return Record(
        id=rid, image=image, target=target, group=group_of(meta, path.stem, cfg.group_pattern),
        source=source, meta={**meta, "series_index": positions[rid]},
    )
