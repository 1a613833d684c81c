"""Training throughput: the project's ``fit`` vs a bare smp training loop, side by side in one run.

Both train the demo's model (``automl_al/templates/demo.yaml``: Unet + resnet18, encoder depth 3,
64 x 64 px, batch 16, Adam, dice + cross-entropy) on the demo's training split, from the same
initial weights, for the same number of optimizer steps:

- ``fit``: :func:`automl_al.training.fit` on ``PreparedData.dataset(train ids)`` (memory-mapped
  cache, the project's DataLoader, augment ``none``) logging to MLflow in a temporary SQLite store;
  everything fit does per epoch is counted (loss bookkeeping, best-weights copy, tracker call);
- ``fit+augment``: the same with the demo's augmentation (``data.augment: light``) and a NullTracker;
  reported for information: augmentation is extra work a bare loop does not do;
- ``bare``: the same tensors held in memory, a plain loop (forward, loss, backward, step) over
  random batches of the same size.

Validation is off (``val_ds=None``) so that only training is compared. Variants run interleaved
round by round (the machine is shared); images/s = images / seconds summed over the rounds, on the
wall clock and on this process's CPU clock (the headline: see ``_common.Interleaved``).

    .venv/bin/python benchmarks/train_throughput.py [--epochs 2] [--rounds 3] [--threads 1]

Last line: ``train_throughput_ratio: X`` (fit / bare; goal >= 0.9).
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Interleaved, command_line, set_threads, write_results  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from automl_al.config import Config, load_config  # noqa: E402
from automl_al.data import PreparedData, prepare_data  # noqa: E402
from automl_al.models import build_model  # noqa: E402
from automl_al.templates import demo_config_path  # noqa: E402
from automl_al.tracking import MlflowTracker, NullTracker, Tracker  # noqa: E402
from automl_al.training import build_loss, build_optimizer, fit  # noqa: E402
from automl_al.training.loaders import train_loader  # noqa: E402


def demo(run_dir: Path, epochs: int) -> tuple[Config, PreparedData]:
    cfg = load_config(demo_config_path(), [f"run_dir={run_dir}", f"train.epochs={epochs}", "train.device=cpu"])
    return cfg, prepare_data(cfg, progress=False)


def fresh_model(cfg: Config, initial: dict[str, torch.Tensor]) -> nn.Module:
    model = build_model(cfg.model, cfg.task, cfg.data.in_channels, cfg.data.classes)
    model.load_state_dict(initial)
    return model


def run_fit(cfg: Config, prepared: PreparedData, initial: dict, tracker: Tracker, augment: bool) -> int:
    """One ``fit`` from ``initial``; returns the images trained on."""
    dataset = prepared.dataset(prepared.splits["pool"], augment=augment)
    result = fit(fresh_model(cfg, initial), dataset, None, cfg.train, task=cfg.task,
                 classes=cfg.data.classes, seed=cfg.seed, tracker=tracker, progress=False)
    loader = train_loader(dataset, cfg.train.batch_size, seed=0, device=torch.device("cpu"))
    return result.epochs_run * (len(dataset) - (1 if loader.drop_last else 0))


def run_bare(cfg: Config, images: torch.Tensor, targets: torch.Tensor, initial: dict, steps: list[int]) -> int:
    """The same model, loss, optimizer and batch sizes; batches cut from tensors in memory."""
    model = fresh_model(cfg, initial).train()
    loss_fn = build_loss(cfg.train.loss, cfg.task)
    optimizer = build_optimizer(model.parameters(), cfg.train)
    generator = torch.Generator().manual_seed(0)
    for _ in range(cfg.train.epochs):
        order = torch.randperm(len(images), generator=generator)
        start = 0
        for size in steps:
            batch = order[start : start + size]
            start += size
            optimizer.zero_grad()
            loss = loss_fn(model(images[batch]), targets[batch])
            loss.backward()
            optimizer.step()
    return cfg.train.epochs * sum(steps)


def batch_sizes(n: int, batch: int, drop_last: bool) -> list[int]:
    sizes = [batch] * (n // batch) + ([n % batch] if n % batch else [])
    return sizes[:-1] if drop_last else sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2, help="epochs per fit (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = parser.parse_args()
    set_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="train-throughput-") as tmp:
        cfg, prepared = demo(Path(tmp) / "run", args.epochs)
        ids = prepared.splits["pool"]
        rows = [prepared.index_of(i) for i in ids]
        images = torch.from_numpy(np.array(prepared.images[rows]))
        targets = torch.from_numpy(np.stack(prepared.targets_for(ids)))
        loader = train_loader(prepared.dataset(ids), cfg.train.batch_size, seed=0, device=torch.device("cpu"))
        steps = batch_sizes(len(ids), cfg.train.batch_size, loader.drop_last)
        torch.manual_seed(0)
        initial = copy.deepcopy(build_model(cfg.model, cfg.task, cfg.data.in_channels, cfg.data.classes).state_dict())
        mlflow = MlflowTracker("train-throughput", uri=f"sqlite:///{tmp}/mlflow.db", log_models=False)
        bench = Interleaved({
            "fit": lambda: run_fit(cfg, prepared, initial, mlflow, augment=False),
            "fit+augment": lambda: run_fit(cfg, prepared, initial, NullTracker(), augment=True),
            "bare": lambda: run_bare(cfg, images, targets, initial, steps),
        })
        print(f"demo: {len(ids)} training images, {len(steps)} steps/epoch, {args.epochs} epochs, "
              f"{args.rounds} rounds", flush=True)
        with mlflow.start_run("train-throughput"):  # opened once: fit logs into a live run
            bench.run(args.rounds)
    lines = [
        *bench.table("bare"),
        "",
        f"Demo data ({len(ids)} training images, {cfg.data.image_size[0]} px), {cfg.model.arch} + "
        f"{cfg.model.encoder} depth {cfg.model.encoder_depth}, batch {cfg.train.batch_size}, "
        f"{len(steps)} steps x {args.epochs} epochs per variant and round, {args.rounds} interleaved rounds "
        "after one warm-up round. fit: augment none, MLflow (SQLite) tracker; fit+augment: the demo's "
        f"augmentation ({cfg.data.augment}), NullTracker; bare: tensors in memory, forward/loss/backward/step. "
        "The headline uses CPU time (one thread, no loader workers: all work in this process), which the "
        "other jobs on the machine do not skew; the wall-clock ratio includes MLflow's disk writes.",
    ]
    last = f"train_throughput_ratio: {bench.cpu_rate('fit') / bench.cpu_rate('bare'):.3f}"
    print("\n".join(lines))
    write_results("train_throughput", command_line(), lines, last)
    print(last)


if __name__ == "__main__":
    main()
