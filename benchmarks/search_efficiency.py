"""Search efficiency: epochs of training until the search finds a configuration within 1 IoU point of
the space's best, TPE + Hyperband (ours) vs random search without pruning (the EDNAS baseline).

This is a TABULAR benchmark (like NAS-Bench / HPOBench), stated plainly:
1. Once, every point of ``search_spaces/segmentation-tiny.yaml`` (36 points: 3 decoders x 2 depth-3
   encoders x 3 learning rates x 2 batch sizes, 32 px) is trained for the full budget of 9
   epochs (EPOCHS) with the project's own ``train_supervised`` (seed 0, no augmentation) on the slices with
   foreground of the first 12 volumes (VOLUMES) of MSD Task04 hippocampus (``../shared/data``), split by
   volume; its per-epoch validation IoU is cached in ``benchmarks/results/search_curves_hippocampus.json``
   (resumable, point by point). Training is seeded, so a point trained again gives the same curve:
   the table stands in for re-training faithfully and is computed once for all seeds and strategies.
2. Both strategies are then replayed against that table with the project's own objective, sampler
   and pruner factories (``automl_al.search``): a trial "trains" by reading its point's curve epoch
   by epoch, so pruning stops it exactly where real training would have stopped. Every epoch a
   trial reads, pruned or not, counts as an epoch spent. A point proposed again takes its earlier
   trial's result without training (``automl_al.search.repeats``), for both strategies alike.
A strategy has "found" a configuration when one of its COMPLETE trials (value = best epoch, as
``fit`` keeps it) is within 0.01 IoU (TOLERANCE) of the best value any point reaches; epochs are counted up to
and including that trial. Seeds 0, 1, 2 for each strategy (the last line; also seeds 0-29, since 3 seeds
are noisy on a space this small); the ratio is mean(ours) / mean(random).
Results: ``benchmarks/results/search_efficiency.{json,md}``.

    .venv/bin/python benchmarks/search_efficiency.py            # precompute once, then replay
    .venv/bin/python benchmarks/search_efficiency.py --replay-only

Last line: ``search_epochs_ratio: X`` (goal: <= 0.25).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, ROOT, SHARED_DATA, hippocampus_subset  # noqa: E402  (sets the offline env)

import optuna  # noqa: E402
import torch  # noqa: E402

from automl_al.config import Config  # noqa: E402
from automl_al.search.objective import Objective, TrialOutcome  # noqa: E402
from automl_al.search.pruners import make_pruner  # noqa: E402
from automl_al.search.samplers import make_sampler  # noqa: E402
from automl_al.search.space import SearchSpace, apply_params, load_space  # noqa: E402
from automl_al.tracking import NullTracker  # noqa: E402
from automl_al.utils import atomic_write_json  # noqa: E402

DATA = SHARED_DATA / "msd_hippocampus"
SPACE = ROOT / "search_spaces" / "segmentation-tiny.yaml"
CURVES = RESULTS / "search_curves_hippocampus.json"
OUTCOME = RESULTS / "search_efficiency.json"

EPOCHS = 9  # full budget of one trial; Hyperband's rungs fall at 1, 3 and 9 epochs
VOLUMES = 12  # hippocampus volumes used (the first ones of dataset.json)
TOLERANCE = 0.01  # "within 1 IoU point"
SEEDS = (0, 1, 2)  # the seeds: the last line
MORE_SEEDS = range(30)  # the same measure over more seeds: 3 are noisy on a space this small
MAX_TRIALS = 400  # per replay; far above what either strategy needs on a 36-point space
MONITOR = "val_iou"
STRATEGIES = {"ours (tpe + hyperband)": ("tpe", "hyperband"), "random, no pruning": ("random", "none")}


# --- step 1: the table ----------------------------------------------------------------------------


def base_config(data_dir: Path, run_dir: Path) -> Config:
    return Config.model_validate(
        {
            "name": "search-efficiency",
            "run_dir": str(run_dir),
            "seed": 0,
            "data": {
                "source": "msd",
                "path": str(data_dir),
                "classes": 3,
                "image_size": [32, 32],  # the space sets it too
                "keep_empty_slices": False,
                "augment": "none",
            },
            "train": {"epochs": EPOCHS, "amp": False, "device": "cpu"},
            "tracking": {"enabled": False},
            "search": {"space": str(SPACE), "epochs": EPOCHS},
        }
    )


def point_keys(space: SearchSpace) -> list[str]:
    first = next(iter(space.architectures.values()))
    return sorted([*first, *space.params])


def point_key(values: dict[str, Any], keys: list[str]) -> str:
    return json.dumps({k: values[k] for k in keys}, sort_keys=True)


def config_values(cfg: Config, keys: list[str]) -> dict[str, Any]:
    tree = cfg.model_dump(mode="json")
    out = {}
    for key in keys:
        node: Any = tree
        for part in key.split("."):
            node = node[part]
        out[key] = node
    return out


def all_points(space: SearchSpace) -> list[dict[str, Any]]:
    grid = space.grid()
    assert grid is not None, "the benchmark space must be finite"
    points = [{}]
    for name, values in grid.items():
        points = [{**p, name: v} for p in points for v in values]
    return [space.decode(p) for p in points]


def precompute(space: SearchSpace, table: dict[str, Any]) -> dict[str, Any]:
    """Train every point not yet in ``table`` for EPOCHS epochs; save after each point."""
    from automl_al.data import prepare_data
    from automl_al.training.supervised import train_supervised

    keys = point_keys(space)
    with tempfile.TemporaryDirectory(prefix="search-efficiency-") as tmp:
        cfg = base_config(hippocampus_subset(VOLUMES, Path(tmp) / "data"), Path(tmp) / "run")
        prepared = None
        for i, values in enumerate(all_points(space)):
            point_cfg = apply_params(cfg, values)
            key = point_key(config_values(point_cfg, keys), keys)
            if key in table["points"]:
                continue
            if prepared is None:
                prepared = prepare_data(point_cfg, progress=False)
                table["data"] = {"volumes": VOLUMES, "splits": {k: len(v) for k, v in prepared.splits.items()}}
            curve: list[float] = []
            start = time.perf_counter()
            train_supervised(
                point_cfg, prepared, on_epoch=lambda e, m: curve.append(m[MONITOR]), progress=False, score_test=False
            )
            table["points"][key] = {MONITOR: curve, "seconds": round(time.perf_counter() - start, 1)}
            atomic_write_json(CURVES, table)
            print(f"[{i + 1}/{space.size}] {key}: best {max(curve):.4f} in {time.perf_counter() - start:.0f}s", flush=True)
    return table


# --- step 2: replay -------------------------------------------------------------------------------


class TableTrainer:
    """Replays a point's cached curve; the value is its best epoch so far (as ``fit`` keeps it)."""

    def __init__(self, table: dict[str, Any], keys: list[str]) -> None:
        self.points = table["points"]
        self.keys = keys

    def __call__(self, cfg: Config, on_epoch, monitor: str) -> TrialOutcome:
        curve = self.points[point_key(config_values(cfg, self.keys), self.keys)][MONITOR]
        for epoch in range(1, cfg.train.epochs + 1):
            on_epoch(epoch, {monitor: curve[epoch - 1]})
        best = max(curve[: cfg.train.epochs])
        return TrialOutcome(best, {monitor: best})


def replay(space: SearchSpace, table: dict[str, Any], sampler: str, pruner: str, seed: int, target: float) -> dict[str, Any]:
    """One search against the table; epochs spent until the best complete trial reaches ``target``."""
    cfg = base_config(Path("unused"), Path("unused"))
    objective = Objective(cfg, space, TableTrainer(table, point_keys(space)), NullTracker(), MONITOR)
    study = optuna.create_study(
        study_name=f"{sampler}-{pruner}-{seed}",  # Hyperband assigns brackets by hashing the name
        direction="maximize",
        sampler=make_sampler(sampler, space, seed, space.size or MAX_TRIALS),
        pruner=make_pruner(pruner, EPOCHS),
    )

    def stop_when_found(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state == optuna.trial.TrialState.COMPLETE and trial.value >= target:
            study.stop()

    study.optimize(objective, n_trials=MAX_TRIALS, callbacks=[stop_when_found])
    epochs, found = 0, False
    for t in study.trials:
        epochs += len(t.intermediate_values)
        if t.state == optuna.trial.TrialState.COMPLETE and t.value >= target:
            found = True
            break
    return {"epochs": epochs, "trials": t.number + 1, "found": found, "pruned": sum(s.state.name == "PRUNED" for s in study.trials)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replay-only", action="store_true", help="use the cached table; never train")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)  # tiny models: OpenMP threads beside other busy processes cost 9x here
    space = load_space(SPACE, base_config(DATA, Path("unused")))
    table: dict[str, Any] = json.loads(CURVES.read_text()) if CURVES.exists() else {"points": {}}
    table.setdefault("space", str(SPACE.relative_to(ROOT)))
    table.setdefault("epochs", EPOCHS)
    if not args.replay_only:
        if not DATA.is_dir():
            raise SystemExit(f"{DATA} is absent: this benchmark needs ../shared/data/msd_hippocampus")
        table = precompute(space, table)
    if len(table["points"]) != space.size:
        raise SystemExit(f"the table holds {len(table['points'])} of {space.size} points; run without --replay-only")

    finals = {k: max(v[MONITOR]) for k, v in table["points"].items()}
    best = max(finals.values())
    target = best - TOLERANCE
    near = sum(v >= target for v in finals.values())
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(line)

    say(f"table: {space.size} points x {EPOCHS} epochs, data {table.get('data')}, "
        f"{sum(v['seconds'] for v in table['points'].values()) / 60:.0f} min of training to build")
    say(f"space: best val IoU {best:.4f}, {near} point(s) within {TOLERANCE:.2f} of it")
    random_expected = EPOCHS * (space.size + 1) / (near + 1)  # distinct uniform draws until a near-best one

    runs: dict[str, list[dict[str, Any]]] = {}
    for name, (sampler, pruner) in STRATEGIES.items():
        runs[name] = [replay(space, table, sampler, pruner, seed, target) for seed in SEEDS]
        for seed, r in zip(SEEDS, runs[name], strict=True):
            say(f"{name:<24} seed {seed}: {r['epochs']:>4} epochs, {r['trials']:>3} trials ({r['pruned']} pruned), found={r['found']}")
    means = {name: statistics.mean(r["epochs"] for r in rs) for name, rs in runs.items()}
    ours, baseline = means["ours (tpe + hyperband)"], means["random, no pruning"]
    for name, m in means.items():
        say(f"{name:<24} mean epochs until within {TOLERANCE:.2f} IoU of the best: {m:.1f}")
    say(f"random search, expected epochs (analytic, {near}/{space.size} near-best points): {random_expected:.1f}")
    more = {name: statistics.mean(replay(space, table, *strategy, seed, target)["epochs"] for seed in MORE_SEEDS)
            for name, strategy in STRATEGIES.items()}
    for name, m in more.items():
        say(f"{name:<24} mean epochs over seeds 0-{len(MORE_SEEDS) - 1}: {m:.1f}")
    more_ratio = more["ours (tpe + hyperband)"] / more["random, no pruning"]
    say(f"ratio over {len(MORE_SEEDS)} seeds: {more_ratio:.3f}")
    ratio = ours / baseline
    outcome = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU, {platform.platform()}",
        "space": table["space"],
        "epochs_per_trial": EPOCHS,
        "data": table.get("data"),
        "best_val_iou": best,
        "near_best_points": near,
        "tolerance": TOLERANCE,
        "seeds": list(SEEDS),
        "runs": runs,
        "mean_epochs": means,
        "random_expected_epochs": random_expected,
        "search_epochs_ratio": ratio,
        "mean_epochs_more_seeds": {"seeds": len(MORE_SEEDS), **more},
        "search_epochs_ratio_more_seeds": more_ratio,
    }
    atomic_write_json(OUTCOME, outcome)
    last = f"search_epochs_ratio: {ratio:.3f}"
    write_markdown(outcome, lines, last, args.replay_only)
    print(last)


def write_markdown(outcome: dict[str, Any], lines: list[str], last: str, replay_only: bool) -> None:
    """``benchmarks/results/search_efficiency.md``: how it was measured, the numbers, the last line."""
    command = "`.venv/bin/python benchmarks/search_efficiency.py`" + (
        " (built the table), then the same with `--replay-only` (this output)" if replay_only else ""
    )
    method = (__doc__ or "").split("This is a TABULAR benchmark", 1)[1].split("\n\n")[0]
    text = "\n".join(
        [
            "# search_efficiency",
            "",
            f"- command: {command}",
            f"- machine: {outcome['machine']}",
            f"- date: {outcome['date']}",
            "- goal: ratio <= 0.25 (epochs spent by ours / by random search)",
            "",
            "## How it is measured",
            "",
            "A tabular benchmark" + method.rstrip(),
            "",
            "## Output",
            "",
            "```",
            *lines,
            last,
            "```",
            "",
        ]
    )
    (RESULTS / "search_efficiency.md").write_text(text)


if __name__ == "__main__":
    main()
