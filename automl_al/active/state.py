"""The active-learning run's durable state: one JSON file, rewritten atomically after every step.

A phase moves through ``STEPS`` in order; ``PhaseState.step`` is the last step that *completed*.
Every file a step produces (checkpoint, scores, labels) is written atomically *before* the state
says the step is done, so after ``kill -9`` at any moment the state never points at a missing or
half-written file, and the run resumes at the first step not recorded here.

Phase 0 is the initial labeled set (only ``queried`` -> ``labeled``); phases 1, 2, ... train.

Example:
    >>> state = ActiveState.new(pool_size=100)
    >>> phase = state.begin_phase(0)
    >>> phase.step is None
    True
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from automl_al.errors import AutomlAlError
from automl_al.utils import atomic_write_json

FORMAT = "automl-al/active-state/v1"
# The order of the steps within a phase; a phase is complete once "labeled" is recorded.
STEPS = ("trained-det", "trained-mc", "scored", "queried", "labeled")


class StateError(AutomlAlError, ValueError):
    """The state file is unreadable or inconsistent; the message names the file."""


@dataclass
class LabeledSample:
    """When an image joined the labeled set and the score that chose it (None: initial / given)."""

    phase: int
    score: float | None = None


@dataclass
class PhaseState:
    """What one phase has done so far; paths are relative to the run directory."""

    phase: int
    step: str | None = None
    run_id: str | None = None
    labeled_count: int = 0
    det_checkpoint: str | None = None
    mc_checkpoint: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    train_seconds: dict[str, float] = field(default_factory=dict)
    scores_file: str | None = None
    scored_count: int = 0
    scoring_seconds_per_image: float | None = None
    queried: list[str] = field(default_factory=list)
    query_scores: list[float | None] = field(default_factory=list)

    def done(self, step: str) -> bool:
        """Whether ``step`` (or a later one) has completed in this phase."""
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}; steps are {', '.join(STEPS)}")
        return self.step is not None and STEPS.index(self.step) >= STEPS.index(step)

    def mark(self, step: str) -> None:
        """Record ``step`` as completed; steps only move forward."""
        if self.done(step):
            raise StateError(f"phase {self.phase}: step {step!r} is already recorded (at {self.step!r})")
        self.step = step


@dataclass
class ActiveState:
    """Everything a resumed run needs; see the module docstring for the write-order guarantee."""

    pool_size: int
    parent_run_id: str | None = None
    labeled: dict[str, LabeledSample] = field(default_factory=dict)
    phases: list[PhaseState] = field(default_factory=list)
    stop_reason: str | None = None

    @classmethod
    def new(cls, pool_size: int) -> ActiveState:
        return cls(pool_size=pool_size)

    def begin_phase(self, phase: int) -> PhaseState:
        """Append phase ``phase``; it must follow a complete phase (or be the first, 0)."""
        expected = 0 if not self.phases else self.phases[-1].phase + 1
        if phase != expected:
            raise StateError(f"cannot begin phase {phase}: the next phase is {expected}")
        if self.phases and not self.phases[-1].done("labeled"):
            raise StateError(f"cannot begin phase {phase}: phase {expected - 1} is not complete")
        state = PhaseState(phase=phase, labeled_count=len(self.labeled))
        self.phases.append(state)
        return state

    def add_labels(self, phase: int, ids: list[str], scores: list[float | None]) -> None:
        """Join ``ids`` to the labeled set; an id labeled before is an error (never ask twice)."""
        again = [i for i in ids if i in self.labeled]
        if again:
            raise StateError(f"phase {phase}: ids already labeled in an earlier phase: {again[:10]}")
        for sample_id, score in zip(ids, scores, strict=True):
            self.labeled[sample_id] = LabeledSample(phase=phase, score=score)

    def labeled_ids(self) -> list[str]:
        """Labeled ids in the order they were labeled."""
        return list(self.labeled)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, raw: dict[str, Any], source: str = "<state>") -> ActiveState:
        if raw.get("format") != FORMAT:
            raise StateError(f"{source}: not an automl-al active-learning state (no '{FORMAT}' marker)")
        try:
            return cls(
                pool_size=raw["pool_size"],
                parent_run_id=raw.get("parent_run_id"),
                labeled={k: LabeledSample(**v) for k, v in raw["labeled"].items()},
                phases=[PhaseState(**p) for p in raw["phases"]],
                stop_reason=raw.get("stop_reason"),
            )
        except (KeyError, TypeError) as e:
            raise StateError(f"{source}: damaged state file ({e}); restore it or start a new run_dir") from e


class StateFile:
    """Load / save an :class:`ActiveState` at one path; saving is atomic (temp file + rename)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> ActiveState:
        try:
            raw = json.loads(self.path.read_text())
        except json.JSONDecodeError as e:
            raise StateError(f"{self.path}: not valid JSON ({e}); restore it or start a new run_dir") from e
        return ActiveState.from_json(raw, str(self.path))

    def save(self, state: ActiveState) -> None:
        atomic_write_json(self.path, state.to_json())
