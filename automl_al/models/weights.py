"""Encoder weights: none (default), a local checkpoint file, or a named set found offline.

Machines running the search often have no internet; smp and timm would retry the Hugging Face hub for
tens of seconds before failing. A named weight set is therefore tried with the hub forced offline, so
it loads only from a filled cache and otherwise fails at once with :class:`WeightsUnavailableError`
saying where the file would be cached and how to give a local file instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from automl_al.errors import AutomlAlError

WEIGHT_SUFFIXES = (".pth", ".pt", ".safetensors")


class WeightsUnavailableError(AutomlAlError, RuntimeError):
    """Named pretrained weights that are not in the local caches (and no download is attempted)."""


class WeightsLoadError(AutomlAlError, ValueError):
    """A local weights file that cannot be read or does not fit the encoder."""


class _NoDownload(OSError):
    """Raised instead of any torch hub download while weights are resolved offline."""


def is_weight_file(weights: str) -> bool:
    """A value of ``model.encoder_weights`` that names a file rather than a weight set."""
    return weights.endswith(WEIGHT_SUFFIXES) or "/" in weights or os.sep in weights


def cache_locations() -> list[str]:
    """Where smp / timm look for downloaded weights (the Hugging Face cache and torch hub)."""
    from huggingface_hub import constants

    return [str(constants.HF_HUB_CACHE), str(Path(torch.hub.get_dir()) / "checkpoints")]


def _refuse_download(url: str, *args: Any, **kwargs: Any) -> None:
    raise _NoDownload(f"offline: not downloading {url}")


@contextmanager
def offline_hub() -> Iterator[None]:
    """Hub lookups only from the local cache, for the duration of the block."""
    from huggingface_hub import constants

    saved = (os.environ.get("HF_HUB_OFFLINE"), constants.HF_HUB_OFFLINE, torch.hub.download_url_to_file)
    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True
    torch.hub.download_url_to_file = _refuse_download
    try:
        yield
    finally:
        env, constants.HF_HUB_OFFLINE, torch.hub.download_url_to_file = saved
        if env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = env


def unavailable(weights: str, model_name: str, error: BaseException) -> WeightsUnavailableError:
    return WeightsUnavailableError(
        f"pretrained weights {weights!r} for {model_name!r} (model.encoder_weights) are not in the "
        f"local caches ({', '.join(cache_locations())}) and downloads are off "
        f"({type(error).__name__}: {str(error)[:160]}). Fill the cache on a machine with internet, or set "
        "model.encoder_weights to a local .pth / .pt / .safetensors file of encoder weights, "
        "or to null for random initialisation"
    )


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors file or a torch file (``weights_only=True``); a dict with a
    ``state_dict`` / ``model`` entry is unwrapped."""
    path = Path(path)
    if not path.is_file():
        where = "" if path.is_absolute() else f" (a relative name is looked for beside the config, then in {Path.cwd()})"
        raise WeightsLoadError(
            f"model.encoder_weights: file {path} does not exist{where}; give an existing .pth / .pt / "
            ".safetensors file, a named weight set such as 'imagenet', or null"
        )
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise WeightsLoadError(f"model.encoder_weights: cannot read {path}: {type(e).__name__}: {e}") from e
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsLoadError(f"model.encoder_weights: {path} does not hold a state dict of tensors")
    return state


def check_weights_file(weights: str | None) -> None:
    """Read ``model.encoder_weights`` once when it names a file, so that a missing or unreadable file
    fails in seconds rather than in every search trial after data preparation."""
    if weights is not None and is_weight_file(weights):
        read_state_dict(weights)


def load_weights_file(module: nn.Module, path: str | Path, *, skip_prefixes: tuple[str, ...] = ()) -> None:
    """Load ``path`` into ``module`` strictly; keys under ``skip_prefixes`` (a classifier that is
    re-made for our classes) are neither loaded nor required."""
    state = {k: v for k, v in read_state_dict(path).items() if not k.startswith(skip_prefixes)}
    try:
        # nn.Module's own method: smp encoders override it to drop ImageNet heads and return nothing
        missing, unexpected = nn.Module.load_state_dict(module, state, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise WeightsLoadError(f"model.encoder_weights: {path} does not fit the encoder: {e}") from e
    missing = [k for k in missing if not k.startswith(skip_prefixes)]
    if missing or unexpected:
        raise WeightsLoadError(
            f"model.encoder_weights: {path} does not fit the {type(module).__name__} encoder: "
            f"{len(missing)} missing keys {missing[:8]}, {len(unexpected)} unexpected keys "
            f"{unexpected[:8]}; save the encoder's own state_dict (model.encoder.state_dict())"
        )


__all__ = [
    "WeightsLoadError",
    "WeightsUnavailableError",
    "cache_locations",
    "check_weights_file",
    "is_weight_file",
    "load_weights_file",
    "offline_hub",
    "read_state_dict",
    "unavailable",
]
