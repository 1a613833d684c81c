"""The active-learning loop as a resumable state machine over phases.

Phase 0 picks the initial labeled set and asks the oracle for it. Each later phase, in order:
train the deterministic model (``trained-det``) -> stop? -> train the MC-dropout twin
(``trained-mc``) -> score the unlabeled pool (``scored``) -> pick the top K, or with
``active.diversity: kcenter`` a k-center batch (``queried``) -> get their labels from the oracle
(``labeled``). The state is saved after every step (see :mod:`automl_al.active.state`), so
running the same loop again resumes at the first step not done.

The loop knows nothing of models: a :class:`Learner` trains and scores, an
:class:`~automl_al.active.oracles.Oracle` answers, so the loop itself is tested with fakes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from automl_al.active.crash import crash_point
from automl_al.active.labels import LabelStore
from automl_al.active.oracles import Oracle, WaitingForLabels
from automl_al.active.paths import RunPaths
from automl_al.active.phase_files import read_features, read_scores, scores_csv, write_features
from automl_al.active.rows import phase_rows, without_per_class
from automl_al.active.selection import subsample_pool
from automl_al.active.state import ActiveState, PhaseState, StateError, StateFile
from automl_al.active.stopping import Progress, budget_count, query_count, stop_reason
from automl_al.config import Config
from automl_al.registries import DIVERSITIES, SCHEDULES
from automl_al.tracking import NullTracker, Tracker
from automl_al.utils import atomic_write_text

__all__ = [  # RunPaths and phase_rows live in paths.py and rows.py; still importable from here
    "ActiveLoop",
    "ActiveResult",
    "InitialSelector",
    "Learner",
    "ModelKind",
    "RunPaths",
    "Scored",
    "Trained",
    "phase_rows",
    "phase_seed",
]

log = logging.getLogger(__name__)

ModelKind = Literal["det", "mc"]


@dataclass
class Trained:
    """A trained model's evaluation: ``val_*`` / ``test_*`` metrics and the training time."""

    metrics: dict[str, float]
    seconds: float


@dataclass
class Scored:
    """One score per scored id (higher = more informative) and the time per image; with
    ``active.diversity: kcenter`` also one feature row per id, in the same order."""

    ids: list[str]
    scores: np.ndarray
    seconds_per_image: float
    features: np.ndarray | None = None


class Learner(Protocol):
    """Trains the phase's two models and scores the pool with them."""

    needs_mc: bool  # False: score with the deterministic model (T = 1) and skip the MC twin

    def train(
        self,
        kind: ModelKind,
        train_ids: list[str],
        *,
        phase: int,
        checkpoint: Path,
        init_from: Path | None,
        tracker: Tracker,
    ) -> Trained: ...

    def score(
        self, ids: list[str], *, phase: int, det_checkpoint: Path, mc_checkpoint: Path | None, seed: int
    ) -> Scored: ...


InitialSelector = Callable[[list[str], int, int], list[str]]  # (candidates, k, seed) -> ids


def phase_seed(seed: int, phase: int, purpose: str) -> int:
    """An independent seed per (run seed, phase, purpose): subsampling, tie-breaks, random scores."""
    salt = sum(ord(c) * 31**i for i, c in enumerate(purpose)) % 2**31
    return int(np.random.SeedSequence([seed, phase, salt]).generate_state(1)[0])


@dataclass
class ActiveResult:
    """How the run ended: ``finished`` (with a ``stop_reason``) or ``waiting`` for the oracle."""

    status: Literal["finished", "waiting"]
    state: ActiveState
    rows: list[dict[str, float | int | str]]
    run_dir: Path
    waiting: WaitingForLabels | None = None
    report_files: list[Path] = field(default_factory=list)

    @property
    def stop_reason(self) -> str | None:
        return self.state.stop_reason

    @property
    def final_checkpoint(self) -> Path | None:
        trained = [p for p in self.state.phases if p.det_checkpoint]
        return self.run_dir / trained[-1].det_checkpoint if trained else None  # type: ignore[operator]


class ActiveLoop:
    """One run of active learning over ``pool_ids``; ``run()`` starts or resumes it."""

    def __init__(
        self,
        cfg: Config,
        pool_ids: Sequence[str],
        learner: Learner,
        oracle: Oracle,
        *,
        initial_selector: InitialSelector,
        tracker: Tracker | None = None,
        on_finish: Callable[[ActiveResult, Tracker], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.active = cfg.active
        self.pool_ids = list(pool_ids)
        self.learner = learner
        self.oracle = oracle
        self.initial_selector = initial_selector
        self.diversity = DIVERSITIES.get(cfg.active.diversity)
        self.tracker = tracker or NullTracker()
        self.on_finish = on_finish
        self.paths = RunPaths(Path(cfg.run_dir))
        self.store = LabelStore(self.paths.labels)
        self.state_file = StateFile(self.paths.state_file)
        self.state = self.state_file.load() if self.state_file.exists() else ActiveState.new(len(self.pool_ids))
        if self.state.pool_size != len(self.pool_ids):
            raise StateError(
                f"{self.state_file.path}: the saved run has a pool of {self.state.pool_size} images but the "
                f"data now gives {len(self.pool_ids)}; use the same data or a new run_dir"
            )

    def _save(self) -> None:
        self.state_file.save(self.state)

    def _mark(self, phase: PhaseState, step: str) -> None:
        """Record ``step`` as done and save; everything the step wrote is already on disk."""
        phase.mark(step)
        self._save()
        crash_point(f"{step}:{phase.phase}")

    def run(self) -> ActiveResult:
        tags = {"stage": "active", "acquisition": self.active.acquisition, "oracle": self.active.oracle}
        with self.tracker.start_run(f"{self.cfg.name}-active", tags=tags, run_id=self.state.parent_run_id or None) as run_id:
            if run_id and self.state.parent_run_id != run_id:
                self.state.parent_run_id = run_id
                self.tracker.log_params({"active": self.active.model_dump(mode="json"), "pool_size": len(self.pool_ids)})
                self._save()
            try:
                self._advance()
            except WaitingForLabels as waiting:
                # callers print the full list once (learn / run verbs); the log only says that it waits
                log.info("phase %d: waiting for the %s oracle (%d to fix)", waiting.phase, self.oracle.name, len(waiting.problems))
                return ActiveResult("waiting", self.state, phase_rows(self.state), self.paths.run_dir, waiting=waiting)
            self.tracker.set_tags({"stop_reason": self.state.stop_reason})
            result = ActiveResult("finished", self.state, phase_rows(self.state), self.paths.run_dir)
            if self.on_finish is not None:
                self.on_finish(result, self.tracker)
            return result

    def _advance(self) -> None:
        if not self.state.phases:
            self.state.begin_phase(0)
            self._save()
        elif self.state.stop_reason is not None:
            log.info("already finished (%s); rewriting the summary", self.state.stop_reason)
        else:
            last = self.state.phases[-1]
            log.info("resuming phase %d after step %s (%d labeled)", last.phase, last.step or "none", len(self.state.labeled))
        while self.state.stop_reason is None:
            phase = self.state.phases[-1]
            if phase.phase == 0:
                self._initial_phase(phase)
            else:
                with self.tracker.start_run(f"phase_{phase.phase:02d}", run_id=phase.run_id or None) as run_id:
                    if run_id and phase.run_id != run_id:
                        phase.run_id = run_id
                        self._save()
                    self._training_phase(phase)
            if self.state.stop_reason is None:
                self.state.begin_phase(phase.phase + 1)
                self._save()

    # ----- phase 0: the initial labeled set -------------------------------------------------

    def _initial_phase(self, phase: PhaseState) -> None:
        if not phase.done("queried"):
            pool = set(self.pool_ids)
            size = min(self.active.initial, budget_count(self.active.budget, len(pool)) or len(pool), len(pool))
            seed = phase_seed(self.cfg.seed, 0, "initial")
            given = [i for i in self.oracle.given_ids() if i in pool]
            if len(given) > size and self.active.given_labels == "initial":
                log.info(
                    "%d pool images come labeled; active.given_labels is 'initial', so %d of them start the "
                    "labeled set and the other %d stay hidden until queried", len(given), size, len(given) - size,
                )
                given = self.initial_selector(given, size, seed)
            elif len(given) == len(pool) > size:
                log.info(
                    "every pool image comes labeled, so nothing is left to ask for; active.given_labels: "
                    "initial rehearses the loop on fully labeled data"
                )
            candidates = [i for i in self.pool_ids if i not in set(given)]
            picked = self.initial_selector(candidates, size - len(given), seed) if size > len(given) else []
            phase.queried = given + picked
            phase.query_scores = [None] * len(phase.queried)
            self._mark(phase, "queried")
            log.info(
                "initial labeled set: %d of %d pool images (%d labeled by the source, %d for the oracle)",
                len(phase.queried), len(pool), len(given), len(picked),
            )
        self._label(phase)

    # ----- phases 1..: train, stop?, train MC, score, query, label -------------------------

    def _training_phase(self, phase: PhaseState) -> None:
        if not phase.done("trained-det"):
            self._train_det(phase)
        reason = stop_reason(self.active, self.cfg.task, self._progress(phase), len(self.pool_ids))
        if reason is not None:
            self.state.stop_reason = reason
            self._save()
            log.info("active learning stops after phase %d: %s", phase.phase, reason)
            return
        if not phase.done("trained-mc"):
            self._train_mc(phase)
        if not phase.done("scored"):
            self._score(phase)
        if not phase.done("queried"):
            self._query(phase)
        self._label(phase)

    def _unlabeled(self) -> list[str]:
        return [i for i in self.pool_ids if i not in self.state.labeled]

    def _progress(self, phase: PhaseState) -> Progress:
        return Progress(phase.phase, phase.metrics, len(self.state.labeled), len(self._unlabeled()))

    def _previous(self, phase: PhaseState) -> PhaseState | None:
        trained = [p for p in self.state.phases if p.phase < phase.phase and p.det_checkpoint]
        return trained[-1] if trained else None

    def _init_from(self, phase: PhaseState, kind: ModelKind) -> Path | None:
        previous = self._previous(phase)
        if not self.active.warm_start or previous is None:
            return None
        path = previous.det_checkpoint if kind == "det" else previous.mc_checkpoint
        return self.paths.run_dir / path if path else None

    def _train(self, phase: PhaseState, kind: ModelKind) -> tuple[Path, Trained]:
        checkpoint = self.paths.phase_dir(phase.phase) / f"{kind}.pt"
        trained = self.learner.train(
            kind,
            self.state.labeled_ids(),
            phase=phase.phase,
            checkpoint=checkpoint,
            init_from=self._init_from(phase, kind),
            tracker=self.tracker,
        )
        return checkpoint, trained

    def _train_det(self, phase: PhaseState) -> None:
        phase.labeled_count = len(self.state.labeled)
        log.info(
            "phase %d/%d: training the model on %d labeled images (%.1f%% of the pool)",
            phase.phase, self.active.max_phases, phase.labeled_count, 100 * phase.labeled_count / len(self.pool_ids),
        )
        checkpoint, trained = self._train(phase, "det")
        phase.det_checkpoint = self.paths.relative(checkpoint)
        phase.metrics = dict(trained.metrics)
        phase.train_seconds["det"] = trained.seconds
        self._mark(phase, "trained-det")
        shown = ", ".join(f"{k} {v:.4f}" for k, v in without_per_class(phase.metrics).items())
        log.info("phase %d: %s (trained in %.1f s)", phase.phase, shown or "no metrics", trained.seconds)
        self.tracker.log_metrics(
            {
                "labeled_count": phase.labeled_count,
                "labeled_fraction": phase.labeled_count / len(self.pool_ids),
                **phase.metrics,
                "train_seconds_det": trained.seconds,
            },
            step=phase.phase,
        )

    def _train_mc(self, phase: PhaseState) -> None:
        if self.learner.needs_mc:
            log.info("phase %d: training the MC-dropout twin (dropout: %s)", phase.phase, self.active.dropout)
            checkpoint, trained = self._train(phase, "mc")
            phase.mc_checkpoint = self.paths.relative(checkpoint)
            phase.train_seconds["mc"] = trained.seconds
            self.tracker.log_metrics({"train_seconds_mc": trained.seconds}, step=phase.phase)
        self._mark(phase, "trained-mc")

    def _score(self, phase: PhaseState) -> None:
        candidates = subsample_pool(
            self._unlabeled(), self.active.subsample, seed=phase_seed(self.cfg.seed, phase.phase, "subsample")
        )
        log.info("phase %d: scoring %d unlabeled images with %s", phase.phase, len(candidates), self.active.acquisition)
        scored = self.learner.score(
            candidates,
            phase=phase.phase,
            det_checkpoint=self.paths.run_dir / phase.det_checkpoint,  # type: ignore[operator]
            mc_checkpoint=self.paths.run_dir / phase.mc_checkpoint if phase.mc_checkpoint else None,
            seed=phase_seed(self.cfg.seed, phase.phase, "acquisition"),
        )
        if self.diversity.needs_features:
            if scored.features is None or scored.features.shape[0] != len(scored.ids):
                raise RuntimeError(f"active.diversity {self.active.diversity}: the learner returned no feature row per scored image")
            write_features(self.paths.features(phase.phase), scored.features)  # before "scored": resume reads it
        path = self.paths.scores(phase.phase)
        atomic_write_text(path, scores_csv(scored.ids, scored.scores.tolist()))
        phase.scores_file = self.paths.relative(path)
        phase.scored_count = len(scored.ids)
        phase.scoring_seconds_per_image = scored.seconds_per_image
        self._mark(phase, "scored")
        self.tracker.log_metrics({"scoring_seconds_per_image": scored.seconds_per_image}, step=phase.phase)

    def _query(self, phase: PhaseState) -> None:
        ids, scores = read_scores(self.paths.run_dir / phase.scores_file)  # type: ignore[operator]
        k = query_count(self.active, len(self.state.labeled), len(self._unlabeled()), len(self.pool_ids))
        seed = phase_seed(self.cfg.seed, phase.phase, "ties")
        features = read_features(self.paths.features(phase.phase)) if self.diversity.needs_features else None
        chosen = self.diversity.select(ids, scores, features, k, seed)
        by_id = dict(zip(ids, scores.tolist(), strict=True))
        phase.queried = chosen
        phase.query_scores = [by_id[i] for i in chosen]
        self._mark(phase, "queried")
        log.info("phase %d: asking the %s oracle for %d images", phase.phase, self.oracle.name, len(chosen))
        self.tracker.log_text(scores_csv(phase.queried, phase.query_scores), "queries.csv")

    def _label(self, phase: PhaseState) -> None:
        labels = self.oracle.request(phase.phase, phase.queried, phase.query_scores)
        missing = [i for i in phase.queried if i not in labels]
        if missing:
            raise RuntimeError(f"oracle {self.oracle.name!r} returned no label for {missing[:5]}")
        self.store.put({i: labels[i] for i in phase.queried})
        self.state.add_labels(phase.phase, phase.queried, phase.query_scores)
        self._mark(phase, "labeled")


class QueryRun(Protocol):
    """What an ``active.schedule`` entry builds: one run, started or resumed by ``run()``."""

    def run(self) -> ActiveResult: ...


# An active.schedule entry: called with ActiveLoop's constructor arguments. "phases" is this loop;
# a schedule that queries inside one continuous training run registers beside it.
ScheduleFactory = Callable[..., QueryRun]

SCHEDULES.register("phases", ActiveLoop)
