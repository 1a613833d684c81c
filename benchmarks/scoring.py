"""Pool-scoring speed: our MC-dropout scoring vs the naive T-pass loop vs baal vs a plain forward.

Unet + resnet18 (depth 5), 128 x 128, 1 channel, 2 classes, dropout before the segmentation head
(``model.dropout: head``), T = 20, CPU. Every variant scores the same pool through the same
DataLoader (batch 16, as the active learner uses) with the same trained-from-scratch weights:

- ``plain``: the deterministic forward + softmax, once (the speed floor of any scoring);
- ``ours``: :func:`automl_al.active.scoring.score_pool` over :func:`automl_al.models.mc_probs`
  with the ``mfe`` acquisition (the code the active learner runs);
- ``naive``: the whole network T times in MC-dropout mode, then the same acquisition;
- ``baal``: baal 2.1's ``MCDropoutModule`` + ``ModelWrapper.predict_on_batch(x, iterations=T)``
  (its default ``replicate_in_memory=True``: the batch repeated T times in one forward), then the
  same acquisition. baal is installed into ``benchmarks/.baal`` only, never into the project.

Variants run interleaved round by round (the machine is shared); images/s = images / seconds summed
over the rounds,
on the wall clock and on this process's CPU clock (the headline: see ``_common.Interleaved``).

    .venv/bin/python benchmarks/scoring.py [--images 32] [--rounds 2] [--threads 1]

Last line: ``scoring_vs_plain_forward: X`` (ours / plain; goal >= 0.8; naive is about 0.05).
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Interleaved, command_line, import_baal, set_threads, write_results  # noqa: E402

import torch  # noqa: E402
from torch import Tensor, nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from automl_al.active.acquisition import create_acquisition, get_reduction  # noqa: E402
from automl_al.active.scoring import score_pool  # noqa: E402
from automl_al.config import ModelConfig  # noqa: E402
from automl_al.models import build_model, mc_probs  # noqa: E402
from automl_al.models.mc import mc_dropout_mode  # noqa: E402
from automl_al.training.loaders import eval_loader  # noqa: E402

SIZE, T, BATCH = 128, 20, 16
ACQUISITION, REDUCTION = create_acquisition("mfe", seed=0), get_reduction("mean")


def make_model() -> nn.Module:
    torch.manual_seed(0)
    cfg = ModelConfig(arch="Unet", encoder="resnet18", encoder_depth=5, dropout="head", dropout_rate=0.2)
    return build_model(cfg, "segmentation", in_channels=1, classes=2).eval()


def make_loader(n: int) -> DataLoader:
    """An unlabeled pool: ``(image [1, H, W], index)`` like ``PreparedData.dataset(with_target=False)``."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(n, 1, SIZE, SIZE, generator=generator)
    return eval_loader(TensorDataset(images, torch.arange(n)), BATCH, device=torch.device("cpu"))


def loop_scores(loader: DataLoader, probs_fn) -> int:
    """Score every batch with ``probs_fn`` [T, B, C, H, W] and our acquisition; returns images seen."""
    seen = 0
    with torch.inference_mode():
        for images, _ in loader:
            ACQUISITION(probs_fn(images), REDUCTION)
            seen += len(images)
    return seen


def variants(model: nn.Module, loader: DataLoader) -> dict:
    def plain() -> int:
        seen = 0
        with torch.inference_mode():
            for images, _ in loader:
                torch.softmax(model(images), dim=1)
                seen += len(images)
        return seen

    def ours() -> int:
        return len(score_pool(lambda x: mc_probs(model, x, T), loader, ACQUISITION, REDUCTION, device="cpu").scores)

    def naive_probs(x: Tensor) -> Tensor:
        with mc_dropout_mode(model):
            return torch.stack([torch.softmax(model(x), dim=1) for _ in range(T)])

    import_baal()
    from baal.bayesian.dropout import MCDropoutModule
    from baal.modelwrapper import ModelWrapper, TrainingArgs

    wrapper = ModelWrapper(MCDropoutModule(copy.deepcopy(model)), TrainingArgs(use_cuda=False))
    wrapper.model.eval()  # baal's dropout modules stay stochastic in eval mode

    def baal_probs(x: Tensor) -> Tensor:
        logits = wrapper.predict_on_batch(x, iterations=T)  # [B, C, H, W, T]
        return torch.softmax(logits.permute(4, 0, 1, 2, 3), dim=2)

    return {
        "plain": plain,
        "ours": ours,
        "naive": lambda: loop_scores(loader, naive_probs),
        "baal": lambda: loop_scores(loader, baal_probs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=32, help="pool size (default 32)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = parser.parse_args()
    set_threads(args.threads)
    model, loader = make_model(), make_loader(args.images)
    bench = Interleaved(variants(model, loader))
    print(f"Unet+resnet18, {SIZE} px, T={T}, batch {BATCH}, {args.images} images, {args.rounds} rounds", flush=True)
    bench.run(args.rounds)
    lines = [
        *bench.table("plain"),
        "",
        f"Unet + resnet18 (depth 5), {SIZE} x {SIZE} px, 1 channel, 2 classes, dropout head (p 0.2), "
        f"T = {T}, batch {BATCH}, pool of {args.images} images, {args.rounds} interleaved rounds after "
        "one warm-up round; acquisition mfe, mean reduction, for every MC variant. The headline uses "
        "CPU time (one thread, all work in this process), which the other jobs on the machine do not skew.",
        f"ours / naive: {bench.cpu_rate('ours') / bench.cpu_rate('naive'):.1f}x; "
        f"ours / baal: {bench.cpu_rate('ours') / bench.cpu_rate('baal'):.1f}x (CPU time).",
    ]
    last = f"scoring_vs_plain_forward: {bench.cpu_rate('ours') / bench.cpu_rate('plain'):.3f}"
    print("\n".join(lines))
    write_results("scoring", command_line(), lines, last)
    print(last)


if __name__ == "__main__":
    main()
