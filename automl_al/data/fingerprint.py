"""The data cache's fingerprint: a hash of everything that changes the decoded arrays.

It hashes the data config (minus split/augmentation settings, which do not change decoded
pixels), the task, and the data files' sizes and mtimes, so editing a file or a decoding setting
decodes again while a new seed or split reuses the cache.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from automl_al.config import Config, DataConfig
from automl_al.data.records import DataError

CACHE_VERSION = 2  # 2: classification records keep their class name in meta
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
