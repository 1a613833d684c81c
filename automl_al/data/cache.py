"""Decode a dataset once into memory-mapped ``.npy`` files; reuse them on every later run.

Layout of ``<run_dir>/cache/<fingerprint>/``: ``images.npy`` float32 ``[N, C, H, W]`` (fitted to
``data.image_size`` and normalised), ``targets.npy`` (uint8 ``[N, H, W]`` with 255 = unlabeled,
or int64 ``[N]`` with -1 = unlabeled), ``index.json`` (ids, groups, sources, labeled flags, meta),
``problems.json`` (skipped files) and ``COMPLETE``, written last.

Why this shape: volumes and multi-frame files expand, so the sample count is unknown until the
end; records are streamed into the ``.npy`` files behind a reserved header that is filled in
when the count is known, and never held in memory together. The whole folder is built under a
temporary name and renamed into place, so a crash or a concurrent worker never leaves a half
cache that looks complete. The folder's name is the data's fingerprint (:mod:`.fingerprint`); a
complete folder is opened as :class:`~automl_al.data.prepared.PreparedData`.
"""

from __future__ import annotations

import logging
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from automl_al.config import Config
from automl_al.data.fingerprint import CACHE_VERSION, fingerprint
from automl_al.data.prepared import PreparedData, load_prepared
from automl_al.data.preprocess import fit_mask, prepare_image
from automl_al.data.problems import Problems
from automl_al.data.records import DataError
from automl_al.data.sources import SOURCES
from automl_al.data.validation import RecordChecker
from automl_al.utils import atomic_write_json, atomic_write_text, progress_bar

__all__ = ["UNLABELED_CLASS", "UNLABELED_MASK", "PreparedData", "fingerprint", "load_prepared", "prepare_data"]

log = logging.getLogger(__name__)

HEADER_BYTES = 256  # reserved .npy header (version 1.0): room for any shape, 64-byte aligned
UNLABELED_MASK = 255
UNLABELED_CLASS = -1


class _NpyStream:
    """Append fixed-shape rows to a ``.npy`` file; the header (with the row count) is written on close."""

    def __init__(self, path: Path, dtype: np.dtype, row_shape: tuple[int, ...]) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.row_shape = row_shape
        self.count = 0
        self._f: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._f.write(b"\0" * HEADER_BYTES)

    def append(self, row: np.ndarray) -> None:
        row = np.asarray(row, dtype=self.dtype)
        if row.shape != self.row_shape:
            raise ValueError(f"row shape {row.shape} != {self.row_shape}")
        self._f.write(row.tobytes())
        self.count += 1

    def close(self) -> None:
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": (self.count, *self.row_shape)}
        text = repr(header).encode("latin1")
        room = HEADER_BYTES - 10  # magic (6) + version (2) + header length (2)
        self._f.seek(0)
        self._f.write(np.lib.format.magic(1, 0) + struct.pack("<H", room) + text.ljust(room - 1) + b"\n")
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()


@dataclass
class _Index:
    ids: list[str]
    groups: list[str]
    sources: list[str]
    labeled: list[bool]
    meta: list[dict[str, Any]]


def _stream_records(cfg: Config, folder: Path, progress: bool) -> tuple[_Index, Problems]:
    """Decode, validate, fit and normalise every record straight into ``folder``'s .npy files."""
    d = cfg.data
    problems = Problems(d.on_bad_file)
    checker = RecordChecker(d, cfg.task, problems)
    h, w = d.image_size
    images = _NpyStream(folder / "images.npy", np.float32, (d.in_channels, h, w))
    seg = cfg.task == "segmentation"
    targets = _NpyStream(folder / "targets.npy", np.uint8 if seg else np.int64, (h, w) if seg else ())
    index = _Index([], [], [], [], [])
    records = SOURCES.get(d.source)(d, problems)
    for record in progress_bar(records, desc=f"decoding data.source={d.source}", unit="img", disable=not progress):
        usable, target = checker.check(record)
        if not usable:
            continue
        try:
            image = prepare_image(record.image, d)
        except ValueError as e:
            problems.report(record.source, str(e))
            continue
        if target is None:
            targets.append(np.full((h, w), UNLABELED_MASK, np.uint8) if seg else np.int64(UNLABELED_CLASS))
        else:
            targets.append(fit_mask(target, d) if seg else np.int64(target))
        images.append(image)
        index.ids.append(record.id)
        index.groups.append(record.group)
        index.sources.append(record.source)
        index.labeled.append(target is not None)
        c, oh, ow = record.image.shape
        index.meta.append({**record.meta, "original_size": [oh, ow], "original_channels": c})
    images.close()
    targets.close()
    return index, problems


def _build(cfg: Config, final: Path, progress: bool) -> None:
    """Build the cache in a temporary sibling folder, then rename it to ``final`` (atomic)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}-"))
    try:
        index, problems = _stream_records(cfg, tmp, progress)
        if not index.ids:
            where = cfg.data.path or "the demo generator"
            raise DataError(
                f"{where}: no usable images for data.source={cfg.data.source} "
                f"({len(problems)} bad files skipped); check data.path and the folder layout"
            )
        atomic_write_json(tmp / "problems.json", problems.items)
        atomic_write_json(tmp / "index.json", {"version": CACHE_VERSION, "task": cfg.task,
                                               "source": cfg.data.source, **vars(index)})
        atomic_write_text(tmp / "COMPLETE", "ok\n")
        if final.exists() and not (final / "COMPLETE").is_file():
            shutil.rmtree(final)  # an old incomplete folder (only complete ones are ever renamed in)
        try:
            tmp.rename(final)
        except OSError:
            if not (final / "COMPLETE").is_file():  # not a concurrent winner: a real failure
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def prepare_data(cfg: Config, progress: bool = True) -> PreparedData:
    """Decode ``cfg.data`` once into ``<run_dir>/cache/<fingerprint>/`` (or reuse it) and split it."""
    root = Path(cfg.run_dir) / "cache" / fingerprint(cfg)
    if (root / "COMPLETE").is_file():
        log.info("data cache %s is complete: reusing it", root)
    else:
        _build(cfg, root, progress)
    prepared = load_prepared(root, cfg)
    if prepared.problems:
        log.warning("%d bad files were skipped; see %s", len(prepared.problems), root / "problems.json")
    return prepared
