"""Typed configuration: one YAML file drives every stage.

Unknown keys are errors, and every error names the file and the dotted key, so a typo never
silently falls back to a default. Precedence: defaults < YAML < CLI overrides (``key.sub=value``).

A key that names a part (``active.acquisition``, ``data.source``, ``train.loss``, ...) is checked
against that part's registry (:mod:`automl_al.registries`) when the config loads, so a misspelt
name fails before any data is read, and a part a plug-in registered is as valid as a built-in.
The modules in the top-level ``plugins`` list are imported first, to register theirs.

Example:
    >>> cfg = Config.model_validate({"data": {"source": "demo"}})
    >>> cfg.model.arch
    'Unet'
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from automl_al.errors import AutomlAlError
from automl_al.registries import (
    ACQUISITIONS,
    DIVERSITIES,
    DROPOUTS,
    INITIAL_STRATEGIES,
    LOSSES,
    OPTIMIZERS,
    ORACLES,
    PIPELINES,
    PRUNERS,
    REDUCTIONS,
    SAMPLERS,
    SCHEDULERS,
    SCHEDULES,
    SOURCES,
    UNCERTAINTIES,
)
from automl_al.registry import PluginError, RegisteredName, import_plugins

Task = Literal["segmentation", "classification"]


class ConfigError(AutomlAlError, ValueError):
    """A config file or value is invalid; the message names the file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DemoConfig(_Strict):
    """Synthetic short-axis cardiac MRI look-alike (see ``automl_al.data.sources.demo``)."""

    n_patients: int = Field(40, ge=4)
    slices_per_patient: int = Field(6, ge=1)
    size: int = Field(64, ge=16)


class DataConfig(_Strict):
    source: Annotated[str, RegisteredName(SOURCES)] = "demo"
    path: Path | None = None
    image_size: tuple[int, int] = (64, 64)
    resize: Literal["resize", "pad"] = "resize"
    in_channels: int = Field(1, ge=1)
    # Number of classes including background (segmentation) or of labels (classification).
    classes: int = Field(2, ge=2)
    class_names: list[str] | None = None
    test_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0)
    # Regex with one group applied to the file stem; the match is the patient/group id.
    group_pattern: str | None = None
    on_bad_file: Literal["error", "skip"] = "error"
    normalize: Literal["zscore", "minmax"] = "minmax"
    clip_percentiles: tuple[float, float] = (0.5, 99.5)
    augment: Annotated[str, RegisteredName(PIPELINES)] = "default"
    # msd: axis along which volumes are sliced; skip slices without foreground when False.
    slice_axis: int = Field(2, ge=0, le=2)
    keep_empty_slices: bool = True
    # classes: a CSV of ``path,label`` instead of one folder per class.
    labels_csv: Path | None = None
    demo: DemoConfig = Field(default_factory=DemoConfig)

    @model_validator(mode="after")
    def _fractions(self) -> DataConfig:
        if self.test_fraction + self.val_fraction >= 0.9:
            raise ValueError(
                f"test_fraction + val_fraction must leave a pool, but got "
                f"{self.test_fraction} + {self.val_fraction}"
            )
        # A source that makes its own images (the demo) says so with ``needs_path = False``.
        if self.path is None and getattr(SOURCES.get(self.source), "needs_path", True):
            raise ValueError(f"data.path is required for source '{self.source}'")
        return self


class ModelConfig(_Strict):
    # Segmentation: any smp decoder name; classification: ignored (timm model in `encoder`).
    arch: str = "Unet"
    encoder: str = "resnet18"
    encoder_depth: int = Field(5, ge=3, le=5)
    # None = random init (no download). "imagenet" etc. only from a filled local cache;
    # a path = local checkpoint of encoder weights.
    encoder_weights: str | None = None
    dropout: Annotated[str, RegisteredName(DROPOUTS)] = "none"
    dropout_rate: float = Field(0.2, ge=0.0, lt=1.0)


class TrainConfig(_Strict):
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(8, ge=1)
    # None: an epoch is one pass over the training set. N: an epoch is N batches drawn with
    # replacement (nnU-Net's fixed-iteration epoch), so every active-learning phase and the
    # full-data model get the same number of updates and differ in their data only.
    steps_per_epoch: int | None = Field(None, ge=1)
    lr: float = Field(1e-3, gt=0)
    optimizer: Annotated[str, RegisteredName(OPTIMIZERS)] = "adam"
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    scheduler: Annotated[str, RegisteredName(SCHEDULERS)] = "none"
    loss: Annotated[str, RegisteredName(LOSSES)] = "dice_ce"
    # Early stopping on the monitored validation metric; None disables it.
    early_stopping: int | None = Field(None, ge=1)
    num_workers: int = Field(0, ge=0)
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    amp: bool = True


class TrackingConfig(_Strict):
    # None: $MLFLOW_TRACKING_URI, else sqlite:///mlflow/mlflow.db (relative to the CWD).
    uri: str | None = None
    experiment: str | None = None
    enabled: bool = True
    log_models: bool = True


class SearchConfig(_Strict):
    space: Path = Path("search_spaces/segmentation-cpu.yaml")
    n_trials: int = Field(8, ge=1)
    timeout: float | None = None
    sampler: Annotated[str, RegisteredName(SAMPLERS)] = "tpe"
    pruner: Annotated[str, RegisteredName(PRUNERS)] = "hyperband"
    epochs: int = Field(3, ge=1)
    storage: str | None = None
    study: str | None = None


class ActiveConfig(_Strict):
    acquisition: Annotated[str, RegisteredName(ACQUISITIONS)] = "mfe"
    reduction: Annotated[str, RegisteredName(REDUCTIONS)] = "mean"
    # Where the T probability samples come from (mc_dropout: the twin below, T = mc_samples).
    uncertainty: Annotated[str, RegisteredName(UNCERTAINTIES)] = "mc_dropout"
    mc_samples: int = Field(20, ge=2)
    # When queries happen: "phases" trains, scores and queries query_size images, phase by phase.
    schedule: Annotated[str, RegisteredName(SCHEDULES)] = "phases"
    initial: int = Field(40, ge=1)
    initial_strategy: Annotated[str, RegisteredName(INITIAL_STRATEGIES)] = "random"
    query_size: int = Field(50, ge=1)
    # "kcenter": the batch by k-center greedy over encoder features scaled by the score (S4), so
    # that a batch is not K near-copies of one hard case; "none": the top K by score.
    diversity: Annotated[str, RegisteredName(DIVERSITIES)] = "none"
    # Score a random subset of E pool images per phase (seed S2); None scores the whole pool.
    subsample: int | None = Field(None, ge=1)
    max_phases: int = Field(10, ge=1)
    # Labeling budget: an int count or a float fraction (0, 1] of the pool.
    budget: float | int | None = None
    iou_threshold: float | None = Field(None, gt=0, le=1)
    monitor: Literal["val", "test"] = "val"
    oracle: Annotated[str, RegisteredName(ORACLES)] = "simulated"
    # Images that come with a label (folder oracle): "all" start the labeled set, so a person is
    # never asked for one; "initial": up to `initial` of them do and the rest stay hidden (a
    # rehearsal of the human loop on fully labeled data, such as the demo).
    given_labels: Literal["all", "initial"] = "all"
    warm_start: bool = False
    # The MC twin's placement: one that inserts dropout ("none" makes no twin).
    dropout: Annotated[str, RegisteredName(DROPOUTS, where=lambda p: p.inserts, what="placements that insert dropout")] = "head"
    dropout_rate: float = Field(0.2, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _diversity(self) -> ActiveConfig:
        """A diversity that scales by the score cannot use sort keys (power sampling's) as scores."""
        if not DIVERSITIES.get(self.diversity).scales_by_score:
            return self
        if getattr(ACQUISITIONS.get(self.acquisition), "ranks_only", False):
            base = ACQUISITIONS.base_of(self.acquisition)
            plain = repr(base) if base else "an uncertainty heuristic"
            raise ValueError(
                f"active.diversity {self.diversity} scales features by the acquisition score, but {self.acquisition!r} "
                f"gives random keys (power sampling already spreads the batch); use {plain} with {self.diversity}, "
                f"or {self.acquisition!r} with diversity: none"
            )
        return self

    @field_validator("budget")
    @classmethod
    def _budget(cls, v: float | int | None) -> float | int | None:
        if isinstance(v, float) and not 0.0 < v <= 1.0:
            raise ValueError(f"a fractional budget must be in (0, 1] (a share of the pool), but got {v}; use an int for a count")
        if isinstance(v, int) and v < 1:
            raise ValueError(f"a budget count must be >= 1, but got {v}")
        return v


class Config(_Strict):
    name: str = "automl-al"
    task: Task = "segmentation"
    run_dir: Path = Path("runs/default")
    seed: int = 0
    # Modules to import before the rest is checked, so that the parts they register (an oracle, a
    # data source, an acquisition, ...) can be named below; each must be importable (installed, or
    # its folder on PYTHONPATH). Installed packages can use the automl_al.plugins entry point instead.
    plugins: list[str] = Field(default_factory=list)
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    active: ActiveConfig = Field(default_factory=ActiveConfig)

    @model_validator(mode="before")
    @classmethod
    def _import_plugins(cls, data: Any) -> Any:
        plugins = data.get("plugins") if isinstance(data, dict) else None
        if isinstance(plugins, list):
            import_plugins([p for p in plugins if isinstance(p, str)])
        return data

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("name must not be empty")
        return v


def _format_errors(err: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<root>"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling; see `automl-al init` for an example)"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    node = tree
    *parents, leaf = dotted.split(".")
    for p in parents:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted!r}: {p!r} is not a section")
    node[leaf] = value


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["train.epochs=3", "model.encoder=resnet34"]`` -> nested dict; values parsed as YAML."""
    tree: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key.sub=value")
        key, raw = item.split("=", 1)
        _set_dotted(tree, key.strip(), yaml.safe_load(raw))
    return tree


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _resolve_beside(raw: dict[str, Any], section: str, key: str, folder: Path) -> None:
    """A relative file name in ``raw[section][key]`` that exists beside the config becomes absolute."""
    node = raw.get(section)
    value = node.get(key) if isinstance(node, dict) else None
    if isinstance(value, str) and value and not Path(value).is_absolute() and (folder / value).is_file():
        node[key] = str((folder / value).resolve())


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Load and validate a YAML config; relative data paths resolve against the file's folder, and so
    do a search space or encoder weights file found there."""
    raw: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            loaded = yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}") from e
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: top level must be a mapping of keys, got {type(loaded).__name__}")
        raw = loaded or {}
        data = raw.get("data")
        if isinstance(data, dict):
            for key in ("path", "labels_csv"):
                if data.get(key) and not Path(data[key]).is_absolute():
                    data[key] = str((path.parent / data[key]).resolve())
        # A space or weights file beside the config is found there; any other name stays as given
        # (relative to the CWD, a shipped space of automl_al.search.space, a named weight set).
        _resolve_beside(raw, "search", "space", path.parent)
        _resolve_beside(raw, "model", "encoder_weights", path.parent)
    raw = _merge(raw, parse_overrides(overrides))
    try:
        return Config.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_errors(e, source)) from None
    except PluginError as e:
        raise ConfigError(f"{source}: {e}") from e


def dump_config(cfg: Config) -> str:
    """The resolved config as YAML (saved with every run, like timm's args.yaml)."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)


def with_class_names(cfg: Config, names: list[str]) -> Config:
    """``cfg`` with ``data.class_names`` set, so the config saved beside a model names its classes
    even when the source found them (the ``classes`` source's folder names)."""
    return cfg.model_copy(update={"data": cfg.data.model_copy(update={"class_names": list(names)})})


def save_config(cfg: Config, path: Path) -> None:
    from automl_al.utils import atomic_write_text

    atomic_write_text(path, dump_config(cfg))
