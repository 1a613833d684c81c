"""DataLoaders for training and inference, with seeding and device-aware settings in one place."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler


def _seed_worker(worker_id: int) -> None:
    """Torch seeds each worker's torch and ``random`` RNGs; NumPy (augmentations) needs it by hand."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def _worker_options(num_workers: int, device: torch.device) -> dict:
    return {
        "num_workers": num_workers,
        "persistent_workers": num_workers > 0,
        "worker_init_fn": _seed_worker if num_workers > 0 else None,
        "pin_memory": device.type == "cuda",
    }


def train_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    seed: int,
    device: torch.device,
    num_workers: int = 0,
    steps: int | None = None,
) -> DataLoader:
    """Shuffled with a generator seeded by ``seed``, so the batch order repeats run to run.

    ``steps=None``: one pass over the data per epoch. A last batch of ONE sample is dropped (when a
    full batch remains): BatchNorm cannot normalise a single vector, and shuffling means a different
    sample sits out each epoch.

    ``steps=N``: an epoch is N full batches drawn with replacement (nnU-Net's fixed-iteration
    epoch), so a model trained on 20 images gets as many updates as one trained on 2,000.
    """
    n = len(dataset)  # type: ignore[arg-type]
    if n == 0:
        raise ValueError("the training set is empty; label some images first (active.initial >= 1)")
    generator = torch.Generator()
    generator.manual_seed(seed)
    options = _worker_options(num_workers, device)
    if steps is not None:
        sampler = RandomSampler(dataset, replacement=True, num_samples=steps * batch_size, generator=generator)
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, **options)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        generator=generator,
        drop_last=n > batch_size and n % batch_size == 1,
        **options,
    )


def eval_loader(dataset: Dataset, batch_size: int, *, device: torch.device, num_workers: int = 0) -> DataLoader:
    """In dataset order, every sample kept."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, **_worker_options(num_workers, device))
