"""Map-style torch datasets over the memory-mapped cache.

Datasets hold file paths and row indices, not arrays: memmaps open lazily in each process, so a
dataset pickles cheaply into DataLoader workers. ``with_target=False`` yields ``(image, k)`` (``k``
the position in ``ids``) and never opens the targets file: scoring cannot read a pool label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np
import torch
from torch.utils.data import Dataset

from automl_al.data.transforms import augment_arrays


class CachedDataset(Dataset):
    """Rows ``rows`` of ``images.npy`` (and ``targets.npy``), optionally augmented."""

    def __init__(
        self,
        images: Path,
        targets: Path | None,
        rows: list[int],
        *,
        transform: A.Compose | None = None,
    ) -> None:
        self.images_path = Path(images)
        self.targets_path = None if targets is None else Path(targets)
        self.rows = list(rows)
        self.transform = transform
        self._images: np.ndarray | None = None
        self._targets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_images"] = state["_targets"] = None  # reopen in the worker
        return state

    def _open(self) -> None:
        if self._images is None:
            self._images = np.load(self.images_path, mmap_mode="r")
            if self.targets_path is not None:
                self._targets = np.load(self.targets_path, mmap_mode="r")

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor | int]:
        self._open()
        row = self.rows[k]
        image = np.array(self._images[row], dtype=np.float32)  # [C, H, W], a copy
        target = None if self._targets is None else np.array(self._targets[row])
        if self.transform is not None:
            image, target = augment_arrays(self.transform, image, target)
        x = torch.from_numpy(np.ascontiguousarray(image))
        if target is None:
            return x, k
        return x, torch.as_tensor(target.astype(np.int64))
