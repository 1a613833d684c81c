"""Loading a search-space file: validation (every error names the file and the key) and compiling."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from automl_al.config import Config, Task
from automl_al.errors import AutomlAlError
from automl_al.search.space.apply import apply_params
from automl_al.search.space.sampling import SearchSpace
from automl_al.search.space.shipped import SHIPPED_SPACES

# Architecture dimension (file key) -> dotted config key.
ARCH_KEYS = {
    "arch": "model.arch",
    "encoder": "model.encoder",
    "encoder_depth": "model.encoder_depth",
    "image_size": "data.image_size",
}
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
