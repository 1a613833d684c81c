"""Find the model ``automl-al predict`` applies: a run directory's final model or an MLflow model URI.

Both carry the resolved config beside the weights, so prediction preprocesses exactly as training did
(same channels, size, resize mode and normalisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from torch import nn

from automl_al.config import Config, ConfigError
from automl_al.errors import AutomlAlError

MLFLOW_SCHEMES = ("runs:/", "models:/")


class ModelNotFoundError(AutomlAlError, FileNotFoundError):
    """MODEL is neither a run directory with a final model nor an MLflow model URI."""


@dataclass
class Predictor:
    model: nn.Module
    cfg: Config
    origin: str


def _config_from_text(text: str, origin: str) -> Config:
    try:
        return Config.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValueError) as e:
        raise ConfigError(f"{origin}: the config saved with the model is invalid: {e}") from None


def _from_directory(path: Path) -> Predictor:
    """``RUN_DIR`` (uses ``RUN_DIR/final``) or a folder holding ``config.yaml`` + ``model.pt``."""
    from automl_al.models import build_model
    from automl_al.training.checkpoint import load_checkpoint

    folder = path / "final" if (path / "final" / "model.pt").is_file() else path
    weights, config = folder / "model.pt", folder / "config.yaml"
    for needed in (weights, config):
        if not needed.is_file():
            raise ModelNotFoundError(
                f"{path}: no final model here ({needed.name} missing in {folder}); give the run directory "
                "of a finished `automl-al run`, a folder with config.yaml + model.pt, or an MLflow URI "
                "such as models:/NAME@champion"
            )
    cfg = _config_from_text(config.read_text(), str(config))
    model = build_model(cfg.model, cfg.task, cfg.data.in_channels, cfg.data.classes, pretrained=False)
    load_checkpoint(weights, model)
    return Predictor(model.eval(), cfg, str(folder))


def load_predictor(ref: str | Path, *, tracking_uri: str | None = None) -> Predictor:
    """The model and its training config from a run directory or an MLflow URI.

    Example:
        >>> predictor = load_predictor("runs/demo")                     # doctest: +SKIP
        >>> predictor = load_predictor("models:/automl-al-demo@champion")  # doctest: +SKIP
    """
    text = str(ref)
    if text.startswith(MLFLOW_SCHEMES):
        from mlflow.exceptions import MlflowException

        from automl_al.models import build_model
        from automl_al.tracking import load_logged_model

        try:
            logged, config_text = load_logged_model(text, "config.yaml", tracking_uri)
        except MlflowException as e:
            import mlflow

            raise ModelNotFoundError(
                f"{text}: not in the MLflow store {mlflow.get_tracking_uri()} ({e.message}); check the name "
                "and alias (or run id), or point --tracking-uri at the store that holds it"
            ) from None
        cfg = _config_from_text(config_text, text)
        # MLflow 3 logs torch models as torch.export programs: fixed graphs that refuse .eval() and
        # cannot switch dropout on for MC sampling. Rebuild the real module and take only the weights.
        model = build_model(cfg.model, cfg.task, cfg.data.in_channels, cfg.data.classes, pretrained=False)
        model.load_state_dict(logged.state_dict())
        return Predictor(model.eval(), cfg, text)
    path = Path(text)
    if not path.is_dir():
        raise ModelNotFoundError(f"{path}: not a directory and not an MLflow model URI (runs:/... or models:/...)")
    return _from_directory(path)
