"""``PreparedData``: the data layer's main API, a decoded dataset opened from its cache folder.

Images are memory-mapped, never loaded whole; labels are read only through methods that refuse
an unlabeled id (:meth:`PreparedData.targets_for`, :meth:`PreparedData.dataset`), so the active
loop's pool is scored without ever reading a pool label.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from automl_al.config import Config, DataConfig, Task
from automl_al.data.datasets import CachedDataset
from automl_al.data.records import DataError
from automl_al.data.splits import make_splits
from automl_al.data.transforms import build_transforms


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
