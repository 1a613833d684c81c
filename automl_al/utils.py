"""Small helpers every layer uses: atomic writes, seeding, device choice."""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch
    from tqdm import tqdm


T = TypeVar("T")

# The libraries whose versions decide a run's numbers (reported by --version, tagged on MLflow runs).
KEY_LIBRARIES = ("torch", "torchvision", "segmentation-models-pytorch", "timm", "optuna", "mlflow", "albumentations")


def library_versions() -> dict[str, str]:
    """automl-al, Python and :data:`KEY_LIBRARIES` versions, read from package metadata (no imports)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from automl_al import __version__

    found = {"automl-al": __version__, "python": platform.python_version()}
    for name in KEY_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


LOG_INTERVAL_SECONDS = 30.0


def progress_bar(iterable: Any = None, **kwargs: Any) -> tqdm:
    """A tqdm bar; when stderr is not a terminal (a log file, `docker logs`, nohup) it redraws at
    most every LOG_INTERVAL_SECONDS, so an hours-long run does not fill its log with redraws."""
    import sys

    from tqdm.auto import tqdm

    if not sys.stderr.isatty():
        kwargs.setdefault("mininterval", LOG_INTERVAL_SECONDS)
    return tqdm(iterable, **kwargs)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename: a crash never leaves half a file.

    The file gets the permissions ``open()`` would give it (0666 less the umask), not the temp file's
    0600: reports and models written by a Docker container's user stay readable by the host's.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so a run repeats."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def select_device(preference: str = "auto") -> torch.device:
    """CUDA, then MPS, then CPU; an explicit choice that is unavailable is an error."""
    import torch

    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if preference == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    if preference == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RuntimeError("train.device is 'mps' but MPS is not available; use 'auto' or 'cpu'")
    return torch.device(preference)


def cycle_batches(batches: Iterable[T], empty_message: str) -> Iterator[T]:
    """``batches`` (a loader: reshuffled per pass) over and over, for training by a fixed number of
    steps; ``ValueError(empty_message)`` if a pass yields nothing, instead of looping forever."""
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ValueError(empty_message)
