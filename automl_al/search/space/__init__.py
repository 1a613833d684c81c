"""Search-space files (``search_spaces/*.yaml``) -> Optuna distributions -> config values.

A space file has two parts::

    task: segmentation
    architecture:                  # sampled JOINTLY: only combinations the model rules accept
      arch: [Unet, FPN, PAN]
      encoder: [resnet18, tu-regnety_004]
      encoder_depth: [3, 4]        # optional (default: the base config's)
      image_size: [64]             # optional, square side in px (default: the base config's)
    valid_architectures: 11        # optional: the count the rules allow; checked on load
    params:                        # independent hyper-parameters, by dotted config key
      train.lr: [1.0e-4, 4.0e-4]                   # a list: one of these values
      train.batch_size: [4, 8]
      model.dropout_rate: {low: 0.0, high: 0.5}    # a range (ints -> int range; log/step optional)

How the architecture is sampled: the model factory's compatibility rules must hold while sampling,
so no invalid (decoder, encoder, depth, size) combination ever costs a trial. The valid combinations
are enumerated once. Random search and grid see them as ONE static categorical parameter
``architecture`` (labels such as ``"FPN/resnet18/depth4"``): random is then uniform over valid
architectures (the EDNAS baseline) and grid enumerates exactly the valid points. TPE, which learns
per parameter, gets them factor by factor (``SearchSpace.factored``): ``model.arch``, then
``model.encoder`` among the encoders valid with that decoder, and so on, so that what it learns of
an encoder is shared across decoders. Optuna needs a parameter's choices to be fixed, so a factor
whose valid values depend on the earlier ones is a parameter of its own, named by what it lacks
(``"model.encoder without vgg11_bn"``). On a 35-architecture table this found the best point in
107 epochs against 147 with one categorical (benchmarks/search_efficiency.py, BENCHMARKS.md).
Classification spaces list timm model names under ``architecture.encoder`` only.

Only ``model.*`` and ``train.*`` keys may be searched: data preprocessing and splits must be the same
for every trial (except the image size, which is part of the architecture) so scores compare.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
)
from pydantic import ValidationError

from automl_al.config import Config, Task
from automl_al.errors import AutomlAlError

ARCHITECTURE_PARAM = "architecture"
MAX_PARAM_NAME = 120  # Optuna's RDB storages hold 512 characters; dashboards show far fewer
# Architecture dimension (file key) -> dotted config key.
ARCH_KEYS = {
    "arch": "model.arch",
    "encoder": "model.encoder",
    "encoder_depth": "model.encoder_depth",
    "image_size": "data.image_size",
}
SHIPPED_SPACES = Path(__file__).resolve().parents[3] / "search_spaces"
TOP_KEYS = ("task", "description", "architecture", "valid_architectures", "params")
SEARCHABLE_SECTIONS = ("model", "train")

# (task, arch or None, encoder, encoder_depth, image_size (h, w)) -> usable?
Compatibility = Callable[[Task, "str | None", str, int, "tuple[int, int]"], bool]


class SearchSpaceError(AutomlAlError, ValueError):
    """A search-space file is invalid; the message names the file and the key."""


def model_rules(task: Task, arch: str | None, encoder: str, depth: int, size: tuple[int, int]) -> bool:
    """The model factory's rules: the one source of truth for what can be built."""
    from automl_al.models import rules

    if task == "classification":
        return rules.is_classifier(encoder)
    return rules.is_compatible(arch, encoder, encoder_depth=depth, image_size=size)


@dataclass(frozen=True)
class SearchSpace:
    """A compiled space: valid architectures plus independent hyper-parameter distributions."""

    path: Path
    task: Task
    architectures: dict[str, dict[str, Any]]  # label -> dotted config values
    params: dict[str, BaseDistribution]  # dotted config key -> distribution
    description: str = ""
    by_factor: bool = False  # suggest the architecture factor by factor (see the module docstring)

    def factored(self) -> SearchSpace:
        """The same points, with the architecture suggested factor by factor (for TPE).

        >>> space = SearchSpace(Path("s.yaml"), "segmentation", {
        ...     "Unet/resnet18": {"model.arch": "Unet", "model.encoder": "resnet18"},
        ...     "Unet/vgg11_bn": {"model.arch": "Unet", "model.encoder": "vgg11_bn"},
        ...     "DeepLabV3Plus/resnet18": {"model.arch": "DeepLabV3Plus", "model.encoder": "resnet18"}}, {})
        >>> trial = optuna.trial.FixedTrial({"model.arch": "DeepLabV3Plus", "model.encoder without vgg11_bn": "resnet18"})
        >>> space.factored().suggest(trial), list(trial.params)
        ({'model.arch': 'DeepLabV3Plus', 'model.encoder': 'resnet18'}, ['model.arch', 'model.encoder without vgg11_bn'])
        """
        return replace(self, by_factor=True)

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        """Optuna parameter name -> distribution (what a trial records)."""
        return {ARCHITECTURE_PARAM: CategoricalDistribution(list(self.architectures)), **self.params}

    @property
    def size(self) -> int | None:
        """Number of points, or None when a parameter is a continuous range."""
        grid = self.grid()
        return None if grid is None else _product(len(v) for v in grid.values())

    def grid(self) -> dict[str, list[Any]] | None:
        """Every parameter's finite values (for GridSampler), or None if one is a range."""
        out: dict[str, list[Any]] = {}
        for name, dist in self.distributions.items():
            values = _finite_values(dist)
            if values is None:
                return None
            out[name] = values
        return out

    def fingerprint(self) -> str:
        """Stable hash of the compiled space: a resumed study must search the same space."""
        blob = json.dumps({k: distribution_to_json(d) for k, d in self.distributions.items()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample one point; returns dotted config keys -> values."""
        if self.by_factor:
            out = self._walk_factors(trial.suggest_categorical)
            out.update({name: _suggest(trial, name, dist) for name, dist in self.params.items()})
            return out
        return self.decode({name: _suggest(trial, name, dist) for name, dist in self.distributions.items()})

    def decode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Optuna params (as stored in a trial, either encoding) -> dotted config keys -> values."""
        if ARCHITECTURE_PARAM in params:
            out = dict(self.architectures[params[ARCHITECTURE_PARAM]])
        else:
            out = self._walk_factors(lambda name, choices: params[name])
        out.update({k: v for k, v in params.items() if k in self.params})
        return out

    def _walk_factors(self, pick: Callable[[str, list[Any]], Any]) -> dict[str, Any]:
        """Pick each architecture factor in turn among the values still valid with those picked."""
        remaining = list(self.architectures.values())
        for key in remaining[0]:
            every = list(dict.fromkeys(_choice(a[key]) for a in self.architectures.values()))
            if len(every) == 1:
                continue
            valid = [c for c in every if any(_choice(a[key]) == c for a in remaining)]
            picked = pick(_factor_name(key, every, valid), valid)
            remaining = [a for a in remaining if _choice(a[key]) == picked]
        return dict(remaining[0])


def _factor_name(key: str, every: list[Any], valid: list[Any]) -> str:
    """``key`` when every value is valid, else a name of its own for this set of valid values: what
    it lacks, or (past what a storage indexes well) a digest of the valid values."""
    lacking = [str(c) for c in every if c not in valid]
    if not lacking:
        return key
    name = f"{key} without {', '.join(lacking)}"
    if len(name) <= MAX_PARAM_NAME:
        return name
    digest = hashlib.sha256(json.dumps([str(c) for c in valid]).encode()).hexdigest()[:8]
    return f"{key} among {len(valid)} of {len(every)} ({digest})"


def _choice(value: Any) -> Any:
    """A factor's value as an Optuna choice (a str, int or float): an image size [h, w] as "hxw"."""
    return "x".join(map(str, value)) if isinstance(value, list) else value


def _product(values: Any) -> int:
    n = 1
    for v in values:
        n *= v
    return n


def _finite_values(dist: BaseDistribution) -> list[Any] | None:
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    return None


def _suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, list(dist.choices))
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    raise TypeError(f"unsupported distribution for {name}: {dist!r}")


# --- applying values to a config ------------------------------------------------------------------


def apply_params(cfg: Config, params: Mapping[str, Any]) -> Config:
    """A copy of ``cfg`` with dotted keys set (``{"train.lr": 1e-4}``), validated like a YAML file."""
    tree = cfg.model_dump(mode="python")
    for dotted, value in params.items():
        node = tree
        *parents, leaf = dotted.split(".")
        for p in parents:
            if not isinstance(node.get(p), dict):
                raise ValueError(f"{dotted!r} is not a config key ({p!r} is not a section)")
            node = node[p]
        if leaf not in node:
            raise ValueError(f"{dotted!r} is not a config key")
        node[leaf] = value
    try:
        return Config.model_validate(tree)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise ValueError(problems) from None


# --- loading a file -------------------------------------------------------------------------------


class _Loader:
    """Validates one file; every error names the file and the key."""

    def __init__(self, path: Path, base: Config, compatible: Compatibility) -> None:
        self.path = path
        self.compatible = compatible
        self.raw = self._read()
        self.task: Task = self._task()
        self.base = base.model_copy(update={"task": self.task})

    def fail(self, key: str, msg: str) -> SearchSpaceError:
        return SearchSpaceError(f"{self.path}: {key}: {msg}")

    def _read(self) -> dict[str, Any]:
        if not self.path.is_file():
            shipped = ", ".join(sorted(p.name for p in SHIPPED_SPACES.glob("*.yaml")))
            raise SearchSpaceError(f"{self.path}: search-space file not found (set search.space; shipped spaces: {shipped})")
        try:
            raw = yaml.safe_load(self.path.read_text())
        except yaml.YAMLError as e:
            raise SearchSpaceError(f"{self.path}: not valid YAML: {e}") from None
        if not isinstance(raw, dict):
            raise SearchSpaceError(f"{self.path}: top level must be a mapping with keys {', '.join(TOP_KEYS)}")
        for key in raw:
            if key not in TOP_KEYS:
                raise self.fail(str(key), f"unknown key; valid keys: {', '.join(TOP_KEYS)}")
        return raw

    def _task(self) -> Task:
        task = self.raw.get("task", "segmentation")
        if task not in ("segmentation", "classification"):
            raise self.fail("task", f"must be 'segmentation' or 'classification', got {task!r}")
        return task

    def _choices(self, key: str, value: Any) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, f"must be a non-empty list of values, got {value!r}")
        if len(set(map(repr, value))) != len(value):
            raise self.fail(key, f"lists a value twice: {value}")
        for v in value:
            if v is not None and not isinstance(v, bool | int | float | str):
                raise self.fail(key, f"choices must be numbers, strings, booleans or null, got {v!r}")
        return value

    def _check_values(self, key: str, dotted: str, values: list[Any]) -> None:
        for v in values:
            try:
                apply_params(self.base, {dotted: v})
            except ValueError as e:
                raise self.fail(key, f"value {v!r} is not accepted: {e}") from None

    def architectures(self) -> dict[str, dict[str, Any]]:
        section = self.raw.get("architecture")
        if not isinstance(section, dict):
            raise self.fail("architecture", "must be a mapping with arch/encoder lists (as in search_spaces/segmentation-cpu.yaml)")
        allowed = ("encoder", "image_size") if self.task == "classification" else tuple(ARCH_KEYS)
        for key in section:
            if key not in allowed:
                raise self.fail(f"architecture.{key}", f"unknown key for a {self.task} space; valid keys: {', '.join(allowed)}")
        required = ("encoder",) if self.task == "classification" else ("arch", "encoder")
        for key in required:
            if key not in section:
                raise self.fail(f"architecture.{key}", "is required")
        dims: dict[str, list[Any]] = {}
        for key, value in section.items():
            values = self._choices(f"architecture.{key}", value)
            sizes = [[v, v] if isinstance(v, int) and not isinstance(v, bool) else v for v in values]
            self._check_values(f"architecture.{key}", ARCH_KEYS[key], sizes if key == "image_size" else values)
            dims[key] = values
        return self._valid(dims)

    def _valid(self, dims: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
        model, size0 = self.base.model, self.base.data.image_size
        out: dict[str, dict[str, Any]] = {}
        for combo in itertools.product(*dims.values()):
            point = dict(zip(dims, combo, strict=True))
            size = point.get("image_size")
            hw = (size, size) if size is not None else tuple(size0)
            arch = point.get("arch") if self.task == "segmentation" else None
            depth = point.get("encoder_depth", model.encoder_depth)
            if not self.compatible(self.task, arch, point["encoder"], depth, hw):
                continue
            label = "/".join(
                [str(point[k]) for k in ("arch", "encoder") if k in point]
                + ([f"depth{depth}"] if "encoder_depth" in point else [])
                + ([f"{size}px"] if size is not None else [])
            )
            values = {ARCH_KEYS[k]: v for k, v in point.items()}
            if size is not None:
                values["data.image_size"] = [size, size]
            out[label] = values
        if not out:
            raise self.fail("architecture", "no combination is accepted by the model rules; add compatible choices")
        expected = self.raw.get("valid_architectures")
        if expected is not None and expected != len(out):
            raise self.fail(
                "valid_architectures",
                f"file says {expected} but the model rules accept {len(out)}; update the number (and its comment)",
            )
        return out

    def params(self) -> dict[str, BaseDistribution]:
        section = self.raw.get("params") or {}
        if not isinstance(section, dict):
            raise self.fail("params", "must be a mapping of dotted config keys (train.lr) to a list or a range")
        out: dict[str, BaseDistribution] = {}
        for key, spec in section.items():
            key = str(key)
            where = f"params.{key}"
            if key in ARCH_KEYS.values():
                raise self.fail(where, "is part of the architecture: list it under architecture: instead")
            if key.split(".")[0] not in SEARCHABLE_SECTIONS or "." not in key:
                raise self.fail(where, f"only {', '.join(s + '.*' for s in SEARCHABLE_SECTIONS)} keys can be searched")
            out[key] = self._distribution(where, key, spec)
        return out

    def _distribution(self, where: str, key: str, spec: Any) -> BaseDistribution:
        if isinstance(spec, list):
            values = self._choices(where, spec)
            self._check_values(where, key, values)
            return CategoricalDistribution(values)
        if not isinstance(spec, dict) or not {"low", "high"} <= set(spec) or set(spec) - {"low", "high", "log", "step"}:
            raise self.fail(where, f"must be a list of values or {{low, high[, log][, step]}}, got {spec!r}")
        low, high, log, step = spec["low"], spec["high"], bool(spec.get("log", False)), spec.get("step")
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in (low, high)):
            raise self.fail(where, f"low and high must be numbers, got {low!r} and {high!r}")
        if low >= high:
            raise self.fail(where, f"low must be below high, got low={low}, high={high}")
        if log and (low <= 0 or step is not None):
            raise self.fail(where, "a log range needs low > 0 and no step")
        self._check_values(where, key, [low, high])
        try:
            if isinstance(low, int) and isinstance(high, int) and (step is None or isinstance(step, int)):
                return IntDistribution(low, high, log=log, step=step or 1)
            return FloatDistribution(float(low), float(high), log=log, step=step)
        except ValueError as e:
            raise self.fail(where, str(e)) from None


def resolve_space_path(path: str | Path) -> Path:
    """``path`` as given if it exists, else the shipped space of that file name (so
    ``search.space: search_spaces/segmentation-cpu.yaml`` works from any directory)."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    shipped = SHIPPED_SPACES / path.name
    return shipped if shipped.is_file() else path


def load_space(
    path: str | Path, base: Config | None = None, *, compatible: Compatibility | None = None
) -> SearchSpace:
    """Load, validate and compile a space file.

    ``base`` supplies the encoder depth and image size when the file does not list them (default:
    the built-in defaults); ``compatible`` defaults to the model factory's rules (:func:`model_rules`).
    """
    path = Path(path)
    loader = _Loader(path, base or Config(), compatible or model_rules)
    architectures = loader.architectures()
    params = loader.params()
    description = str(loader.raw.get("description", "")).strip()
    return SearchSpace(path, loader.task, architectures, params, description)
