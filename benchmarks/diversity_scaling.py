"""Time and peak memory of the batch-diverse selections as the pool grows: 1k, 10k, 50k images.

Each (strategy, pool size) runs in a FRESH subprocess with one thread (OMP_NUM_THREADS=1 and one
torch thread), on seeded synthetic inputs of the shapes the active loop hands over:

- ``coreset``: :func:`select_coreset`, features [N, 128] float32, 50 labeled images as centres, k = 50;
- ``badge``: :func:`select_badge` (classification form), softmax [N, 2] and features [N, 128]:
  gradient embeddings [N, 256], scikit-learn's k-means++, k = 50;
- ``consistency``: S4's query from its raw inputs: predictions on N_a = 8 augmented copies
  [8, N, 2], summed class-wise variance per batch of 256 (:class:`ConsistencyVariance`), then
  :func:`select_consistency_embedding` on features [N, 128], k = 50;
- ``mi_diversity``: S3's score from images already binned by :func:`image_bins` (32 x 32 px,
  16 bins, uint8 [N, 1024]; binning is done per batch while scoring the pool and not timed here)
  against 20 labeled images: :func:`mean_mutual_information`, :func:`mi_diversity_scores`, top-k 50.

Time: CPU seconds of the child around the selection only (inputs are generated first), the
minimum over 3 repeats at every size; wall seconds of that repeat beside it. With one thread all
the work is in the child, so CPU time is what other people's jobs on the machine do not inflate.
Memory: the child's peak resident set during the selection above its resident set just before:
the kernel's high-water mark (VmHWM) is reset through /proc/self/clear_refs right before the call,
so the figure is the selection's own peak working memory (Python, NumPy and torch allocations
alike), not the inputs and not the imports. Inputs' size is shown beside it.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/diversity_scaling.py [--sizes 1000 10000 50000]

Last line: ``diversity_time_ratio_50k_10k: X``: the largest over the strategies of
CPU time at 50k / CPU time at 10k (linear is 5; goal <= 6).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import command_line, set_threads, write_results

STRATEGIES = ("coreset", "badge", "consistency", "mi_diversity")
DIM, K, LABELED, COPIES, CLASSES = 128, 50, 50, 8, 2
MI_SIZE, MI_BINS, MI_LABELED = 32, 16, 20
CHUNK = 256  # images per scoring batch (consistency)
REPEATS = 3  # per child; the minimum CPU time counts


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/self/status")


def _inputs(strategy: str, n: int) -> tuple[Callable[[], list[str]], float]:
    """(the selection as a closure over seeded inputs, the inputs' size in MiB)."""
    import numpy as np
    import torch

    from automl_al.active.acquisition.committee import ConsistencyVariance
    from automl_al.active.mi_diversity import (
        mean_mutual_information,
        mi_diversity_scores,
    )
    from automl_al.active.selection import (
        select_badge,
        select_consistency_embedding,
        select_coreset,
        select_top_k,
    )

    g = torch.Generator().manual_seed(n)
    ids = [f"img{i:06d}" for i in range(n)]
    features = torch.randn(n, DIM, generator=g).numpy()
    if strategy == "coreset":
        labeled = torch.randn(LABELED, DIM, generator=g).numpy()
        return (lambda: select_coreset(ids, features, K, seed=0, labeled_features=labeled)), features.nbytes / 2**20
    if strategy == "badge":
        probs = torch.randn(n, CLASSES, generator=g).softmax(dim=1).numpy()
        return (lambda: select_badge(ids, features, K, seed=0, probs=probs)), (features.nbytes + probs.nbytes) / 2**20
    if strategy == "consistency":
        copies = torch.randn(COPIES, n, CLASSES, generator=g).softmax(dim=2)
        acquisition = ConsistencyVariance()

        def consistency() -> list[str]:
            scores = np.concatenate([acquisition(copies[:, s : s + CHUNK]).numpy() for s in range(0, n, CHUNK)])
            return select_consistency_embedding(ids, scores, features, K, seed=0)

        return consistency, (features.nbytes + copies.numel() * 4) / 2**20
    if strategy == "mi_diversity":
        pool = torch.randint(0, MI_BINS, (n, MI_SIZE * MI_SIZE), generator=g, dtype=torch.uint8)
        labeled_bins = torch.randint(0, MI_BINS, (MI_LABELED, MI_SIZE * MI_SIZE), generator=g, dtype=torch.uint8)
        entropy = torch.rand(n, generator=g, dtype=torch.float64)

        def mi_diversity() -> list[str]:
            scores = mi_diversity_scores(entropy, mean_mutual_information(pool, labeled_bins, MI_BINS))
            return select_top_k(ids, scores.numpy(), K, seed=0)

        return mi_diversity, (pool.numel() + entropy.numel() * 8) / 2**20
    raise ValueError(f"unknown strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")


def child(strategy: str, n: int) -> dict[str, float]:
    import sklearn.cluster  # noqa: F401  (imported lazily by k-means++: not the selection's memory)

    set_threads(1)
    select, input_mib = _inputs(strategy, n)
    cpu, wall, peak = [], [], []
    for _ in range(REPEATS):
        rss = _status_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current resident set
        start, cpu_start = time.perf_counter(), time.process_time()
        picked = select()
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - start)
        peak.append((_status_kib("VmHWM") - rss) / 1024)
        if len(set(picked)) != K:
            raise RuntimeError(f"{strategy} at {n}: {len(set(picked))} distinct picks, expected {K}")
    best = cpu.index(min(cpu))
    return {"strategy": strategy, "n": n, "cpu_s": cpu[best], "wall_s": wall[best], "peak_mib": max(peak),
            "input_mib": input_mib}


def measure(strategy: str, n: int) -> dict[str, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, __file__, "--child", strategy, str(n)], env=env,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    runs: dict[tuple[str, int], dict[str, float]] = {}
    for n in args.sizes:
        for strategy in STRATEGIES:
            runs[strategy, n] = r = measure(strategy, n)
            print(f"  {strategy} {n}: {r['cpu_s']:.3f} CPU-s, {r['wall_s']:.3f} s, peak +{r['peak_mib']:.1f} MiB",
                  flush=True)
    lines = ["| strategy | pool | CPU s | wall s | peak working memory (MiB) | inputs (MiB) | CPU time / previous size |",
             "|---|---|---|---|---|---|---|"]
    for strategy in STRATEGIES:
        previous = None
        for n in args.sizes:
            r = runs[strategy, n]
            ratio = "" if previous is None else f"{r['cpu_s'] / previous['cpu_s']:.2f} (pool x{n / previous['n']:g})"
            lines.append(f"| {strategy} | {n} | {r['cpu_s']:.3f} | {r['wall_s']:.3f} | {r['peak_mib']:.1f} | "
                         f"{r['input_mib']:.1f} | {ratio} |")
            previous = r
    small, large = (10000, 50000) if {10000, 50000} <= set(args.sizes) else tuple(args.sizes[-2:])
    ratios = {s: runs[s, large]["cpu_s"] / runs[s, small]["cpu_s"] for s in STRATEGIES}
    worst = max(ratios, key=lambda s: ratios[s])
    lines += [
        "",
        (f"Features {DIM}-d float32, k = {K}; coreset with {LABELED} labeled centres; BADGE on classification "
        f"gradient embeddings ({CLASSES} classes, {CLASSES * DIM}-d); consistency from {COPIES} augmented copies; "
        f"mi_diversity on {MI_SIZE} x {MI_SIZE} px, {MI_BINS} bins, {MI_LABELED} labeled images. One thread; "
        f"each size and strategy in a fresh subprocess; CPU time the minimum of {REPEATS} repeats."),
        f"CPU time {large} / {small}: " + ", ".join(f"{s} {ratios[s]:.2f}" for s in STRATEGIES)
        + f" (linear: {large / small:g}); worst: {worst}.",
    ]
    last = f"diversity_time_ratio_{large // 1000}k_{small // 1000}k: {ratios[worst]:.2f}"
    print("\n".join(lines))
    write_results("diversity_scaling", command_line(), lines, last)
    print(last)


if __name__ == "__main__":
    main()
