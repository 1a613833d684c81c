"""The labels the oracle gave: an overlay the training set reads instead of the data cache.

Every label that active learning trains on comes from here, whoever the oracle is: the simulated
oracle copies the hidden cache target of each queried image in, the folder oracle the human's
validated mask. So a pool label is never read by training or scoring until an oracle has
answered for that image, and human labels train exactly like simulated ones.

One ``.npy`` per sample (written atomically), named by :func:`safe_name`, so a crash mid-phase
loses nothing already stored and a resumed run finds every label it had.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from automl_al.utils import atomic_write_bytes

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(sample_id: str) -> str:
    """A file stem for ``sample_id``: readable, and unique thanks to a short hash of the full id."""
    readable = _UNSAFE.sub("_", sample_id).strip("._")[:80] or "sample"
    digest = hashlib.sha1(sample_id.encode("utf-8")).hexdigest()[:8]
    return f"{readable}-{digest}"


class LabelStore:
    """Per-sample labels under ``root``: ``int64 [H, W]`` masks or 0-d class labels."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, sample_id: str) -> Path:
        return self.root / f"{safe_name(sample_id)}.npy"

    def put(self, labels: Mapping[str, np.ndarray | int]) -> None:
        for sample_id, label in labels.items():
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(label, dtype=np.int64), allow_pickle=False)
            atomic_write_bytes(self._path(sample_id), buffer.getvalue())

    def __contains__(self, sample_id: object) -> bool:
        return isinstance(sample_id, str) and self._path(sample_id).is_file()

    def get(self, sample_id: str) -> np.ndarray:
        path = self._path(sample_id)
        if not path.is_file():
            raise KeyError(f"no label stored for {sample_id!r} (expected {path}); the oracle has not answered for it")
        return np.load(path, allow_pickle=False)

    def missing(self, ids: Iterable[str]) -> list[str]:
        return [i for i in ids if i not in self]


class OverlayDataset(Dataset):
    """``(image, target)`` pairs whose targets come from a :class:`LabelStore`.

    ``images`` is an unlabeled dataset over ``ids`` (``(image, index)`` items, e.g.
    ``prepared.dataset(ids, with_target=False)``); ``transform(image, target)`` (optional) applies
    the training augmentation to both at once.
    """

    def __init__(
        self,
        images: Dataset,
        ids: Sequence[str],
        store: LabelStore,
        transform: object | None = None,
    ) -> None:
        missing = store.missing(ids)
        if missing:
            raise KeyError(f"{len(missing)} training ids have no stored label, e.g. {missing[:5]}")
        self.images = images
        self.ids = list(ids)
        self.targets = [torch.as_tensor(store.get(i)) for i in self.ids]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.images[i][0]
        target = self.targets[i]
        if self.transform is not None:
            image, target = self.transform(image, target)  # type: ignore[operator]
        return image, target
