"""Peak memory of pool scoring: a pool of 10,000 images must cost no more than a pool of 1,000.

Each pool size is scored in a FRESH subprocess (so one run's allocator cache cannot hide another's
growth) by the code the active learner runs: :func:`automl_al.active.scoring.score_pool` over
:func:`automl_al.models.mc_probs`, acquisition ``mfe``, Unet + resnet18 (encoder depth 3) with
dropout before the head, 64 x 64 px, T = 20, batch 16. The pool's images are generated per index
inside the dataset (seeded by the index), so the dataset itself holds nothing and any growth with
the pool size would be the scoring's. The child checks that every image got a finite score.

The child reports its own peak resident set (``getrusage(RUSAGE_SELF).ru_maxrss``) and the peak
just before scoring (after imports and the model), so both the whole-process peak and the part
that scoring adds are shown.

    .venv/bin/python benchmarks/scoring_memory.py [--sizes 1000 10000] [--threads 1]

Last line: ``scoring_memory_ratio_10k_1k: X`` (peak RSS at 10,000 / at 1,000; goal <= 1.1).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import command_line, set_threads, write_results  # noqa: E402

SIZE, T, BATCH = 64, 20, 16


def child(n: int, threads: int) -> dict[str, float]:
    """Score a pool of ``n`` generated images; returns peak RSS figures (MiB) and timing."""
    import numpy as np
    import torch
    from torch.utils.data import Dataset

    from automl_al.active.acquisition import create_acquisition, get_reduction
    from automl_al.active.scoring import score_pool
    from automl_al.config import ModelConfig
    from automl_al.models import build_model, mc_probs
    from automl_al.training.loaders import eval_loader

    class GeneratedPool(Dataset):
        """``(image [1, SIZE, SIZE], index)``, each image drawn from a generator seeded by its index."""

        def __len__(self) -> int:
            return n

        def __getitem__(self, k: int) -> tuple[torch.Tensor, int]:
            return torch.rand(1, SIZE, SIZE, generator=torch.Generator().manual_seed(k)), k

    set_threads(threads)
    torch.manual_seed(0)
    cfg = ModelConfig(arch="Unet", encoder="resnet18", encoder_depth=3, dropout="head", dropout_rate=0.2)
    model = build_model(cfg, "segmentation", in_channels=1, classes=2).eval()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    loader = eval_loader(GeneratedPool(), BATCH, device=torch.device("cpu"))
    result = score_pool(lambda x: mc_probs(model, x, T), loader, create_acquisition("mfe", seed=0),
                        get_reduction("mean"), device="cpu")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    if not (np.array_equal(result.indices, np.arange(n)) and np.isfinite(result.scores).all()):
        raise RuntimeError(f"pool of {n}: not every image got one finite score")
    return {"n": n, "peak_mib": peak / 1024, "before_scoring_mib": before / 1024,
            "seconds": result.seconds, "images_per_s": n / result.seconds}


def measure(n: int, threads: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", str(n), "--threads", str(threads)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 10000], help="small, large pool")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.threads)))
        return
    runs = []
    for n in args.sizes:
        runs.append(measure(n, args.threads))
        print(f"  pool {n}: peak {runs[-1]['peak_mib']:.1f} MiB, {runs[-1]['images_per_s']:.1f} images/s", flush=True)
    small, large = runs
    lines = ["| pool images | peak RSS (MiB) | peak before scoring (MiB) | added by scoring (MiB) | images/s |",
             "|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['n']} | {r['peak_mib']:.1f} | {r['before_scoring_mib']:.1f} | "
                     f"{r['peak_mib'] - r['before_scoring_mib']:.1f} | {r['images_per_s']:.1f} |")
    added = [r["peak_mib"] - r["before_scoring_mib"] for r in runs]
    lines += [
        "",
        f"Unet + resnet18 depth 3, dropout head, {SIZE} x {SIZE} px, T = {T}, batch {BATCH}, mfe; each pool "
        "scored in a fresh subprocess; peak RSS = getrusage(RUSAGE_SELF).ru_maxrss of that subprocess.",
        f"Memory added by scoring, large / small pool: {added[1] / max(added[0], 1e-9):.3f}.",
    ]
    last = f"scoring_memory_ratio_10k_1k: {large['peak_mib'] / small['peak_mib']:.3f}"
    print("\n".join(lines))
    write_results("scoring_memory", command_line(), lines, last)
    print(last)


if __name__ == "__main__":
    main()
