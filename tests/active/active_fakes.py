"""Fakes for the active-learning loop: a learner without models, an oracle, a recording tracker."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from automl_al.active.loop import Scored, Trained
from automl_al.active.oracles import Oracle


class FakeLearner:
    """Metrics are a function of the labeled count; scores a function of the id; checkpoints are
    small files whose content names the phase and kind. Records every call."""

    def __init__(
        self,
        *,
        needs_mc: bool = True,
        metric: Callable[[int], float] = lambda n: n / 100,
        score: Callable[[str], float] = lambda i: float(int(i.split("-")[1])),
        fail_at: str | None = None,
        features: Callable[[str], list[float]] | None = None,
    ) -> None:
        self.needs_mc = needs_mc
        self.features_of = features  # a feature row per id (active.diversity: kcenter)
        self.metric = metric
        self.score_of = score
        self.fail_at = fail_at  # e.g. "train:det:2" or "score:1": raise there once (a crash)
        self.calls: list[tuple[Any, ...]] = []

    def _maybe_fail(self, event: str) -> None:
        if self.fail_at == event:
            self.fail_at = None
            raise RuntimeError(f"simulated crash at {event}")

    def train(self, kind, train_ids, *, phase, checkpoint: Path, init_from, tracker) -> Trained:
        self.calls.append(("train", kind, phase, len(train_ids), init_from))
        self._maybe_fail(f"train:{kind}:{phase}")
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        checkpoint.write_text(f"{kind} phase {phase}")
        value = self.metric(len(train_ids))
        return Trained({"val_iou": value, "test_iou": value - 0.01, "val_dice": value}, seconds=1.5)

    def score(self, ids, *, phase, det_checkpoint: Path, mc_checkpoint, seed) -> Scored:
        self.calls.append(("score", phase, len(ids), det_checkpoint.read_text(), mc_checkpoint))
        self._maybe_fail(f"score:{phase}")
        features = None if self.features_of is None else np.array([self.features_of(i) for i in ids], dtype=np.float64)
        return Scored(list(ids), np.array([self.score_of(i) for i in ids], dtype=np.float64), 0.01, features)


class FakeOracle(Oracle):
    """Answers with a constant mask per id and records what it was asked."""

    name = "fake"

    def __init__(self, given: list[str] | None = None) -> None:
        self.given = given or []
        self.requests: list[tuple[int, list[str]]] = []

    def given_ids(self) -> list[str]:
        return list(self.given)

    def request(self, phase, ids, scores) -> dict[str, np.ndarray]:
        self.requests.append((phase, list(ids)))
        return {i: np.full((4, 4), phase, dtype=np.int64) for i in ids}


class RecordingTracker:
    """A Tracker that records runs (name, run id, parent) and everything logged into each."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self._stack: list[dict[str, Any]] = []
        self._count = 0

    @contextlib.contextmanager
    def start_run(self, name: str, *, tags: Mapping[str, str] | None = None, run_id: str | None = None) -> Iterator[str]:
        if run_id is None:
            self._count += 1
            run_id = f"run-{self._count}"
        run = {"name": name, "id": run_id, "parent": self._stack[-1]["id"] if self._stack else None,
               "metrics": [], "texts": {}, "artifacts": [], "params": {}, "tags": dict(tags or {})}
        self.runs.append(run)
        self._stack.append(run)
        try:
            yield run_id
        finally:
            self._stack.pop()

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._stack[-1]["params"].update(params)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self._stack[-1]["metrics"].append((dict(metrics), step))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._stack[-1]["tags"].update(tags)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self._stack[-1]["artifacts"].append(Path(path).name)

    def log_text(self, text: str, artifact_file: str) -> None:
        self._stack[-1]["texts"][artifact_file] = text

    def log_model(self, model: Any, example_input: np.ndarray, name: str = "model") -> str | None:
        return None


def pool(n: int) -> list[str]:
    return [f"img-{i:03d}" for i in range(n)]


class FakePrepared:
    """The slice of PreparedData the oracles use: images, sources, hidden targets, splits.

    ``targets_for`` records who asked, so a test can prove only the oracle reads pool labels.
    """

    def __init__(self, n: int = 6, size: int = 8, labeled: list[str] | None = None) -> None:
        import torch

        self.ids = pool(n)
        rng = np.random.default_rng(0)
        self.images = torch.as_tensor(rng.normal(size=(n, 1, size, size)).astype(np.float32))
        self.targets = (rng.random((n, size, size)) > 0.5).astype(np.int64)
        self.sources = [f"/data/{i}.dcm" for i in self.ids]
        self.splits = {"pool": list(self.ids), "val": [], "test": []}
        self._labeled = labeled or []
        self.target_requests: list[list[str]] = []

    def index_of(self, sample_id: str) -> int:
        return self.ids.index(sample_id)

    def labeled_ids(self) -> list[str]:
        return list(self._labeled)

    def targets_for(self, ids: list[str]) -> np.ndarray:
        self.target_requests.append(list(ids))
        return self.targets[[self.index_of(i) for i in ids]]

    def dataset(self, ids, augment=False, with_target=True):
        if with_target:
            raise AssertionError("a labeled dataset was requested; pool labels must come from the oracle")
        return [(self.images[self.index_of(i)], k) for k, i in enumerate(ids)]
