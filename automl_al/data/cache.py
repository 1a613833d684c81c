"""Decode a dataset once into memory-mapped ``.npy`` files; reuse them on every later run.

Layout of ``<run_dir>/cache/<fingerprint>/``: ``images.npy`` float32 ``[N, C, H, W]`` (fitted to
``data.image_size`` and normalised), ``targets.npy`` (uint8 ``[N, H, W]`` with 255 = unlabeled,
or int64 ``[N]`` with -1 = unlabeled), ``index.json`` (ids, groups, sources, labeled flags, meta),
``problems.json`` (skipped files) and ``COMPLETE``, written last.

Why this shape: volumes and multi-frame files expand, so the sample count is unknown until the
end; records are streamed into the ``.npy`` files behind a reserved header that is filled in
when the count is known, and never held in memory together. The whole folder is built under a
temporary name and renamed into place, so a crash or a concurrent worker never leaves a half
cache that looks complete. The fingerprint hashes the data config (minus split/augmentation
settings, which do not change decoded pixels), the task, and the data files' sizes and mtimes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from automl_al.config import Config, DataConfig, Task
from automl_al.data.datasets import CachedDataset
from automl_al.data.preprocess import fit_mask, prepare_image
from automl_al.data.problems import Problems
from automl_al.data.records import DataError
from automl_al.data.sources import SOURCES
from automl_al.data.splits import make_splits
from automl_al.data.transforms import build_transforms
from automl_al.data.validation import RecordChecker
from automl_al.utils import atomic_write_json, atomic_write_text, progress_bar

log = logging.getLogger(__name__)

CACHE_VERSION = 2  # 2: classification records keep their class name in meta
HEADER_BYTES = 256  # reserved .npy header (version 1.0): room for any shape, 64-byte aligned
UNLABELED_MASK = 255
UNLABELED_CLASS = -1
_NOT_PIXELS = {"test_fraction", "val_fraction", "augment"}  # settings that leave the cache unchanged


def _data_files(cfg: DataConfig) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime_ns) of every non-hidden file the source may read."""
    out: list[tuple[str, int, int]] = []
    for root in (cfg.path, cfg.labels_csv):
        if root is None:
            continue
        root = Path(root)
        if not root.exists():
            raise DataError(f"{root}: data folder does not exist (data.path / data.labels_csv); check the path")
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for p in files:
            rel = p.relative_to(root) if p != root else Path(p.name)
            if any(part.startswith(".") for part in rel.parts):
                continue
            st = p.stat()
            out.append((f"{root}/{rel}", st.st_size, st.st_mtime_ns))
    return out


def fingerprint(cfg: Config) -> str:
    """Hash of everything that changes the decoded arrays (not the seed, not the split fractions)."""
    data = {k: v for k, v in cfg.data.model_dump(mode="json").items() if k not in _NOT_PIXELS}
    payload = {"version": CACHE_VERSION, "task": cfg.task, "data": data, "files": _data_files(cfg.data)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


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


@dataclass
class PreparedData:
    """The decoded dataset: memory-mapped arrays, per-sample info, problems and splits."""

    root: Path
    task: Task
    data_cfg: DataConfig
    ids: list[str]
    groups: list[str]
    sources: list[str]
    labeled: np.ndarray
    meta: list[dict[str, Any]]
    problems: list[tuple[str, str]]
    splits: dict[str, list[str]]
    seed: int = 0  # seeds the training augmentation, so a config + seed gives one model

    def __post_init__(self) -> None:
        self._row = {sample_id: k for k, sample_id in enumerate(self.ids)}

    @property
    def images(self) -> np.ndarray:
        """float32 ``[N, C, H, W]``, memory-mapped read-only."""
        return np.load(self.root / "images.npy", mmap_mode="r")

    def index_of(self, sample_id: str) -> int:
        try:
            return self._row[sample_id]
        except KeyError:
            raise KeyError(f"unknown sample id {sample_id!r} (not in the prepared data at {self.root})") from None

    def class_names(self) -> list[str]:
        """Names in target order: ``data.class_names``, else those the source put in each record's
        ``meta["class_name"]`` (the ``classes`` source's folder or CSV labels, the demo's small /
        large), else ``class_<k>``."""
        names = dict(enumerate(self.data_cfg.class_names or []))
        if not names and self.task == "classification":
            targets = np.load(self.root / "targets.npy", mmap_mode="r")
            names = {int(targets[row]): m["class_name"] for row, m in enumerate(self.meta) if "class_name" in m}
        return [names.get(k, f"class_{k}") for k in range(self.data_cfg.classes)]

    def labeled_among(self, ids: Iterable[str]) -> list[str]:
        """Those of ``ids`` that came with a label from the source, in the order given."""
        labeled = set(self.labeled_ids())
        return [i for i in ids if i in labeled]

    def labeled_ids(self) -> list[str]:
        """Ids that came with a label from the source (in dataset order)."""
        return [i for i, lab in zip(self.ids, self.labeled, strict=True) if lab]

    def _require_labeled(self, ids: list[str]) -> list[int]:
        rows = [self.index_of(i) for i in ids]
        missing = [i for i, r in zip(ids, rows, strict=True) if not self.labeled[r]]
        if missing:
            raise DataError(f"{len(missing)} ids have no label in the data (e.g. {missing[:3]}); "
                            "unlabeled samples need an oracle, not the cached targets")
        return rows

    def targets_for(self, ids: list[str]) -> list[np.ndarray | int]:
        """The stored labels of ``ids``: int64 ``[H, W]`` masks or int classes (the oracle's view)."""
        rows = self._require_labeled(list(ids))
        targets = np.load(self.root / "targets.npy", mmap_mode="r")
        if self.task == "segmentation":
            return [np.array(targets[r], dtype=np.int64) for r in rows]
        return [int(targets[r]) for r in rows]

    def dataset(self, ids: list[str], *, augment: bool = False, with_target: bool = True) -> CachedDataset:
        """Torch dataset over ``ids``; ``with_target=False`` yields ``(image, position)`` only."""
        ids = list(ids)
        rows = self._require_labeled(ids) if with_target else [self.index_of(i) for i in ids]
        return CachedDataset(
            self.root / "images.npy",
            self.root / "targets.npy" if with_target else None,
            rows,
            transform=build_transforms(self.data_cfg, train=True, seed=self.seed) if augment else None,
        )


def load_prepared(root: Path, cfg: Config) -> PreparedData:
    """Open a complete cache folder and split it with ``cfg.seed``."""
    index = json.loads((root / "index.json").read_text())
    problems = [tuple(p) for p in json.loads((root / "problems.json").read_text())]
    d = cfg.data
    splits = make_splits(index["ids"], index["groups"], index["labeled"],
                         test_fraction=d.test_fraction, val_fraction=d.val_fraction, seed=cfg.seed)
    return PreparedData(
        root=root, task=index["task"], data_cfg=d, ids=index["ids"], groups=index["groups"],
        sources=index["sources"], labeled=np.asarray(index["labeled"], dtype=bool), meta=index["meta"],
        problems=problems, splits=splits, seed=cfg.seed,
    )


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
