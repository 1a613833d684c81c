"""A short self-supervised start (S4): rotation prediction on the unlabeled pool, so that the
encoder's embeddings mean something when no pretrained weights exist (the usual case offline).

Pretext (RotNet, Gidaris et al., ICLR 2018; S4 embeds CIFAR-10 with it): every image is shown at
0, 90, 180 and 270 degrees, and a linear head on the embedding (:func:`pooled_features`: the
deepest encoder map, global-average-pooled) must tell which. To answer, the encoder has to learn
the orientation of the structures in the images (anatomy is not rotation-invariant), which is what
makes the embedding useful for spreading an initial set with k-means++. No label is read.

The encoder weights that come out (:func:`encoder_state`) are in the form
``model.encoder_weights`` takes: saved with :func:`save_encoder_weights` as ``.safetensors``, the
file is a valid ``model.encoder_weights`` value for the same encoder, loaded strictly by
:func:`automl_al.models.weights.load_weights_file` (never unpickled).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from automl_al.models.factory import _classifier_prefixes
from automl_al.models.features import pooled_features
from automl_al.utils import atomic_write_bytes, cycle_batches

ROTATIONS = 4  # 0, 90, 180, 270 degrees
PRETEXT_LR = 1e-3
_EMPTY = "the unlabeled loader yielded no batch; the pool is empty"


@dataclass(frozen=True)
class PretextResult:
    """The trained encoder's weights and the pretext loss of every step."""

    state: dict[str, Tensor]  # encoder_state(model): what model.encoder_weights loads
    losses: list[float]


def rotations(images: Tensor) -> list[tuple[Tensor, Tensor]]:
    """``images [B, C, H, W]`` -> [(0 and 180 deg, labels 0/2), (90 and 270 deg, labels 1/3)].

    Quarter turns swap H and W, so each pair of same-shaped turns is one batch (BatchNorm sees
    both orientations of every image in one forward pass).
    """
    if images.ndim != 4:
        raise ValueError(f"rotation prediction needs 2-D images [B, C, H, W], but got shape {tuple(images.shape)}")
    batch = images.shape[0]
    groups = []
    for ks in ((0, 2), (1, 3)):
        x = torch.cat([torch.rot90(images, k, dims=(2, 3)) for k in ks])
        labels = torch.tensor(ks, device=images.device).repeat_interleave(batch)
        groups.append((x, labels))
    return groups


def _images_of(batch: Tensor | Sequence[Tensor]) -> Tensor:
    """The images of a batch that is either images or ``(images, index)`` (an unlabeled dataset)."""
    return batch if isinstance(batch, Tensor) else batch[0]


def rotation_pretext(
    model: nn.Module,
    batches: Iterable[Tensor | Sequence[Tensor]],
    *,
    steps: int,
    lr: float = PRETEXT_LR,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> PretextResult:
    """Train ``model``'s encoder in place for ``steps`` Adam steps on rotation prediction over
    ``batches`` (a loader of unlabeled images, or of ``(image, index)`` pairs; cycled as often as
    needed) and return its weights. The linear head is seeded by ``seed`` and thrown away."""
    if steps < 1:
        raise ValueError(f"the self-supervised pretext needs steps >= 1, but got {steps}")
    stream = (_images_of(b) for b in cycle_batches(batches, _EMPTY))
    first = next(stream).to(device)
    model.to(device).train()
    with torch.no_grad():
        width = pooled_features(model, first[:1]).shape[1]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = nn.Linear(width, ROTATIONS).to(device)
    optimizer = torch.optim.Adam([*model.parameters(), *head.parameters()], lr=lr)
    losses = []
    images = first
    for step in range(steps):
        if step:
            images = next(stream).to(device)
        optimizer.zero_grad(set_to_none=True)
        loss = torch.zeros((), device=device)
        for x, labels in rotations(images):
            loss = loss + F.cross_entropy(head(pooled_features(model, x)), labels) / 2
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return PretextResult(encoder_state(model), losses)


def encoder_state(model: nn.Module) -> dict[str, Tensor]:
    """The weights ``model.encoder_weights`` takes: an smp model's ``encoder`` state dict, or a timm
    classifier's state dict without its classifier (re-made for each task's classes)."""
    encoder = getattr(model, "encoder", None)
    if isinstance(encoder, nn.Module) and hasattr(model, "segmentation_head"):
        state = encoder.state_dict()
    elif hasattr(model, "get_classifier"):
        prefixes = _classifier_prefixes(model)
        state = {k: v for k, v in model.state_dict().items() if not k.startswith(prefixes)}
    else:
        raise TypeError(f"cannot take encoder weights from a {type(model).__name__}: need an smp or timm model")
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def save_encoder_weights(path: str | Path, state: dict[str, Tensor]) -> None:
    """Write ``state`` as ``.safetensors``, atomically (a crash never leaves half a cache file)."""
    from safetensors.torch import save

    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"encoder weights are cached as .safetensors, but got {path}")
    atomic_write_bytes(path, save(state))


__all__ = ["PRETEXT_LR", "PretextResult", "encoder_state", "rotation_pretext", "rotations", "save_encoder_weights"]
