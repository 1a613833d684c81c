"""Where an active-learning run keeps its files under the run directory: the one place that names
them, for the loop, the pipeline's final stage and the report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunPaths:
    """Where the loop keeps its files under the run directory."""

    run_dir: Path

    @property
    def state_file(self) -> Path:
        return self.run_dir / "state" / "state.json"

    @property
    def labels(self) -> Path:
        return self.run_dir / "state" / "labels"

    @property
    def report(self) -> Path:
        return self.run_dir / "active"

    def phase_dir(self, phase: int) -> Path:
        return self.run_dir / "state" / f"phase_{phase:02d}"

    def scores(self, phase: int) -> Path:
        """The phase's ``scores.csv`` (one score per scored id, in scoring order)."""
        return self.phase_dir(phase) / "scores.csv"

    def features(self, phase: int) -> Path:
        """The phase's ``features.npy`` (``active.diversity: kcenter``): rows in ``scores.csv``'s order."""
        return self.phase_dir(phase) / "features.npy"

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.run_dir))
