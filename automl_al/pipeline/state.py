"""``<run_dir>/pipeline.json``: which stages of ``automl-al run`` are done and the parent run's id,
written atomically after every stage so an interrupted run resumes where it stopped."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from automl_al.config import Config, dump_config
from automl_al.errors import AutomlAlError
from automl_al.utils import atomic_write_json

STAGES = ("search", "active", "final")
FILE_NAME = "pipeline.json"


class PipelineError(AutomlAlError, RuntimeError):
    """The run cannot go on as asked; the message says what to do."""


def config_fingerprint(cfg: Config) -> str:
    """Hash of the resolved config minus what may change between resumes (tracking, device)."""
    data = cfg.model_dump(mode="json")
    data.pop("tracking", None)
    data["train"].pop("device", None)
    data["train"].pop("num_workers", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class PipelineState:
    config_fingerprint: str
    parent_run_id: str | None = None
    # Stage name -> what it produced (paths, metrics, run ids): plain JSON.
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def done(self, stage: str) -> bool:
        return stage in self.stages

    @property
    def complete(self) -> bool:
        return all(self.done(s) for s in STAGES)


class StateFile:
    """Load/save :class:`PipelineState`; a state from another config is refused, not mixed in."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / FILE_NAME

    def load(self, cfg: Config) -> PipelineState:
        fingerprint = config_fingerprint(cfg)
        if not self.path.is_file():
            return PipelineState(fingerprint)
        try:
            raw = json.loads(self.path.read_text())
            state = PipelineState(**raw)
        except (ValueError, TypeError) as e:
            raise PipelineError(f"{self.path}: unreadable pipeline state ({e}); delete it to start the run over") from None
        if state.config_fingerprint != fingerprint:
            raise PipelineError(
                f"{self.path.parent} holds a run of a different config; resume with the same config, or "
                f"start a new run with --set run_dir=<new folder>"
            )
        return state

    def save(self, state: PipelineState) -> None:
        atomic_write_json(self.path, asdict(state))

    def save_config(self, cfg: Config) -> Path:
        """The resolved config the run uses (workers read it; the report shows it)."""
        from automl_al.utils import atomic_write_text

        path = self.path.parent / "config.yaml"
        atomic_write_text(path, dump_config(cfg))
        return path
