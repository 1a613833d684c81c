"""Experiment tracking: the one module that imports MLflow.

Stages take a :class:`Tracker` and call it with plain values, so the core never depends on MLflow
and tests can pass :class:`NullTracker`. :class:`MlflowTracker` writes to a local SQLite store by
default (``sqlite:///mlflow/mlflow.db``, artifacts in ``mlflow/artifacts``) so ``mlflow ui`` works
with no server, or to ``$MLFLOW_TRACKING_URI`` / ``tracking.uri`` when set.

Example:
    >>> tracker = NullTracker()
    >>> with tracker.start_run("trial-0") as run_id:
    ...     tracker.log_metrics({"val_iou": 0.5}, step=1)
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

DEFAULT_STORE_DIR = Path("mlflow")


def default_tracking_uri() -> str:
    return f"sqlite:///{DEFAULT_STORE_DIR / 'mlflow.db'}"


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in params.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{key}."))
        else:
            out[key] = str(v)[:6000]
    return out


class Tracker(Protocol):
    """What stages need from a tracker; nested runs follow the ``start_run`` context nesting."""

    def start_run(
        self, name: str, *, tags: Mapping[str, str] | None = None, run_id: str | None = None
    ) -> contextlib.AbstractContextManager[str]: ...

    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None: ...

    def set_tags(self, tags: Mapping[str, Any]) -> None: ...

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None: ...

    def log_text(self, text: str, artifact_file: str) -> None: ...

    def log_model(self, model: Any, example_input: np.ndarray, name: str = "model") -> str | None: ...

    def register_model(self, model_uri: str, name: str, alias: str) -> str | None: ...


class NullTracker:
    """Tracks nothing; run ids are empty strings."""

    @contextlib.contextmanager
    def start_run(self, name: str, *, tags: Mapping[str, str] | None = None, run_id: str | None = None) -> Iterator[str]:
        yield run_id or ""

    def log_params(self, params: Mapping[str, Any]) -> None:
        pass

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        pass

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        pass

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        pass

    def log_text(self, text: str, artifact_file: str) -> None:
        pass

    def log_model(self, model: Any, example_input: np.ndarray, name: str = "model") -> str | None:
        return None

    def register_model(self, model_uri: str, name: str, alias: str) -> str | None:
        return None


class PrefixedTracker:
    """Passes everything to ``tracker``, prefixing metric names: two fits share one phase run."""

    def __init__(self, tracker: Tracker, prefix: str) -> None:
        self._tracker = tracker
        self._prefix = prefix

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self._tracker.log_metrics({f"{self._prefix}{k}": v for k, v in metrics.items()}, step=step)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracker, name)


class MlflowTracker:
    """MLflow implementation of :class:`Tracker` (fluent API; nested runs by context)."""

    def __init__(self, experiment: str, uri: str | None = None, log_models: bool = True) -> None:
        import mlflow

        self._mlflow = mlflow
        self.log_models = log_models
        self.uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()
        if self.uri.startswith("sqlite:///"):
            Path(self.uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(self.uri)
        exp = mlflow.get_experiment_by_name(experiment)
        if exp is None:
            artifact_location = None
            if self.uri == default_tracking_uri() or self.uri.startswith("sqlite:///"):
                store = Path(self.uri.removeprefix("sqlite:///")).parent / "artifacts"
                artifact_location = store.resolve().as_uri()
            experiment_id = mlflow.create_experiment(experiment, artifact_location=artifact_location)
        else:
            experiment_id = exp.experiment_id
        self.experiment_id = experiment_id
        self.experiment = experiment

    @contextlib.contextmanager
    def start_run(self, name: str, *, tags: Mapping[str, str] | None = None, run_id: str | None = None) -> Iterator[str]:
        """A new run (nested under the active one), or the run ``run_id`` resumed. A new top-level
        run is tagged ``versions.<library>``, so runs made with different libraries tell apart."""
        nested = self._mlflow.active_run() is not None
        new_tags = dict(tags or {})
        if not nested:
            from automl_al.utils import library_versions

            new_tags.update({f"versions.{k}": v for k, v in library_versions().items()})
        with self._mlflow.start_run(
            run_id=run_id,
            run_name=None if run_id else name,
            experiment_id=self.experiment_id,
            nested=nested,
            tags=new_tags if not run_id else None,
        ) as run:
            yield run.info.run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        flat = _flatten(params)
        items = list(flat.items())
        for i in range(0, len(items), 90):  # MLflow caps a batch at 100 params
            self._mlflow.log_params(dict(items[i : i + 90]))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        clean = {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}
        if clean:
            self._mlflow.log_metrics(clean, step=step)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._mlflow.set_tags({k: str(v) for k, v in tags.items()})

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self._mlflow.log_artifact(str(path), artifact_path=artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        self._mlflow.log_text(text, artifact_file)

    def log_model(self, model: Any, example_input: np.ndarray, name: str = "model") -> str | None:
        """Log a torch model with a signature inferred from one example batch.

        MLflow saves it with ``torch.export``, which turns a batch size of one into a constant of the
        exported program (a logged model that refuses every other batch size), so a batch of one is
        sent as two copies.
        """
        if not self.log_models:
            return None
        import mlflow.pytorch
        import torch
        from mlflow.models import infer_signature

        if len(example_input) < 2:
            example_input = np.concatenate([example_input, example_input])
        model.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            out = model(torch.as_tensor(example_input, device=device)).float().cpu().numpy()
        signature = infer_signature(example_input, out)
        info = mlflow.pytorch.log_model(
            model, name=name, signature=signature, input_example=example_input, pip_requirements=["torch"]
        )
        return info.model_uri

    def register_model(self, model_uri: str, name: str, alias: str) -> str | None:
        """Register ``model_uri`` as a new version of ``name`` and point ``alias`` (e.g. "champion") at it."""
        version = self._mlflow.register_model(model_uri, name)
        self._mlflow.MlflowClient().set_registered_model_alias(name, alias, version.version)
        return str(version.version)


def _source_run_id(uri: str) -> str:
    """The run that logged the model behind ``runs:/``, ``models:/name@alias``, ``models:/name/N``
    or ``models:/m-...`` (an MLflow 3 logged model)."""
    import mlflow

    client = mlflow.MlflowClient()
    if uri.startswith("runs:/"):
        return uri.removeprefix("runs:/").split("/")[0]
    if uri.startswith("models:/"):
        ref = uri.removeprefix("models:/")
        if "@" in ref:
            name, alias = ref.split("@", 1)
            return client.get_model_version_by_alias(name, alias).run_id
        parts = ref.split("/")
        if len(parts) == 2 and parts[1].isdigit():
            return client.get_model_version(parts[0], parts[1]).run_id
        return mlflow.get_logged_model(parts[0]).source_run_id
    raise ValueError(f"{uri!r} is not an MLflow model URI (runs:/RUN_ID/model or models:/NAME@ALIAS)")


def load_logged_model(uri: str, artifact: str, tracking_uri: str | None = None) -> tuple[Any, str]:
    """A torch model logged to MLflow (on CPU) and the text of ``artifact`` from the run that logged it
    (e.g. the resolved config saved beside the model)."""
    import mlflow
    import mlflow.pytorch

    mlflow.set_tracking_uri(tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri())
    model = mlflow.pytorch.load_model(uri, map_location="cpu")
    local = mlflow.artifacts.download_artifacts(run_id=_source_run_id(uri), artifact_path=artifact)
    return model, Path(local).read_text()


def make_tracker(cfg: Any) -> Tracker:
    """Tracker from a :class:`automl_al.config.Config` (its ``tracking`` section and ``name``)."""
    if not cfg.tracking.enabled:
        return NullTracker()
    return MlflowTracker(cfg.tracking.experiment or cfg.name, cfg.tracking.uri, cfg.tracking.log_models)
