"""Model checkpoints: weights plus a small dict of plain metadata, written atomically.

Files are loaded with ``torch.load(..., weights_only=True)``, which refuses arbitrary pickled
objects; so ``extra`` may hold only str/int/float/bool/None, lists, tuples, dicts with string keys,
and tensors. ``save_checkpoint`` checks this up front, so a checkpoint that could not be loaded
back is never written.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from torch import nn

from automl_al.errors import AutomlAlError
from automl_al.utils import atomic_write_bytes

FORMAT = "automl-al/checkpoint/v1"
_LEAVES = (str, int, float, bool, type(None), torch.Tensor)


class CheckpointError(AutomlAlError, ValueError):
    """A checkpoint file is unreadable, not ours, or does not fit the model; names the file."""


def _check_plain(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where} has a non-string key {k!r}; use string keys")
            _check_plain(v, f"{where}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
    elif not isinstance(value, _LEAVES):
        raise TypeError(
            f"{where} is a {type(value).__name__}; checkpoints hold only str/int/float/bool/None, "
            "lists, dicts and tensors (e.g. convert a Path with str())"
        )


def save_checkpoint(path: str | Path, model: nn.Module, extra: dict[str, Any] | None = None) -> None:
    """Write ``model.state_dict()`` and ``extra`` to ``path``; a crash never leaves half a file."""
    extra = dict(extra or {})
    _check_plain(extra, "extra")
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "state_dict": model.state_dict(), "extra": extra}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, model: nn.Module) -> dict[str, Any]:
    """Load the weights at ``path`` into ``model`` (on its current device) and return ``extra``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found (deleted or moved?); restore it, or start a new run_dir")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises RuntimeError, EOFError, KeyError, UnpicklingError... by damage
        raise CheckpointError(
            f"{path}: not a readable checkpoint (truncated, or not written by save_checkpoint): {e}"
        ) from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an automl-al checkpoint (no '{FORMAT}' format marker)")
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as e:
        raise CheckpointError(
            f"{path}: the weights do not fit this model (different architecture, encoder or classes?): {e}"
        ) from e
    return payload["extra"]
