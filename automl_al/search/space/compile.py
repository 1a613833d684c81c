"""Compiling a search-space file: read it, check its shape (:mod:`.schema`), then what its values
mean: each value must be one the config accepts, and the architecture's combinations are those the
model rules accept. The result is a :class:`~automl_al.search.space.sampling.SearchSpace`."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from automl_al.config import Config, Task
from automl_al.search.space.apply import apply_params
from automl_al.search.space.sampling import SearchSpace
from automl_al.search.space.schema import ARCH_KEYS, Range, SearchSpaceError, SpaceFile, parse_space_file
from automl_al.search.space.shipped import shipped_space_names

TOP_KEYS = tuple(SpaceFile.model_fields)

# (task, arch or None, encoder, encoder_depth, image_size (h, w)) -> usable?
Compatibility = Callable[[Task, "str | None", str, int, "tuple[int, int]"], bool]


def model_rules(task: Task, arch: str | None, encoder: str, depth: int, size: tuple[int, int]) -> bool:
    """The model factory's rules: the one source of truth for what can be built."""
    from automl_al.models import rules

    if task == "classification":
        return rules.is_classifier(encoder)
    return rules.is_compatible(arch, encoder, encoder_depth=depth, image_size=size)


def read_space_file(path: Path) -> dict[str, Any]:
    """The YAML mapping in ``path``; a missing file lists the shipped spaces."""
    if not path.is_file():
        shipped = ", ".join(shipped_space_names())
        raise SearchSpaceError(f"{path}: search-space file not found (set search.space; shipped spaces: {shipped})")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise SearchSpaceError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise SearchSpaceError(f"{path}: top level must be a mapping with keys {', '.join(TOP_KEYS)}")
    return raw


class _Compiler:
    """Checks one schema-valid file's values against the config and the model rules."""

    def __init__(self, path: Path, base: Config, compatible: Compatibility) -> None:
        self.path = path
        self.compatible = compatible
        self.file = parse_space_file(read_space_file(path), path)
        self.task: Task = self.file.task
        self.base = base.model_copy(update={"task": self.task})

    def fail(self, key: str, msg: str) -> SearchSpaceError:
        return SearchSpaceError(f"{self.path}: {key}: {msg}")

    def _check_values(self, key: str, dotted: str, values: list[Any]) -> None:
        for v in values:
            try:
                apply_params(self.base, {dotted: v})
            except ValueError as e:
                raise self.fail(key, f"value {v!r} is not accepted: {e}") from None

    def architectures(self) -> dict[str, dict[str, Any]]:
        dims: dict[str, list[Any]] = {str(k): v for k, v in self.file.architecture.items()}  # the file's order
        for key, values in dims.items():
            sizes = [[v, v] if isinstance(v, int) and not isinstance(v, bool) else v for v in values]
            self._check_values(f"architecture.{key}", ARCH_KEYS[key], sizes if key == "image_size" else values)
        return self._valid(dims)

    def _valid(self, dims: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
        model, size0 = self.base.model, self.base.data.image_size
        out: dict[str, dict[str, Any]] = {}
        for combo in itertools.product(*dims.values()):
            point = dict(zip(dims, combo, strict=True))
            size = point.get("image_size")
            hw = (size, size) if size is not None else (size0[0], size0[1])
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
        expected = self.file.valid_architectures
        if expected is not None and expected != len(out):
            raise self.fail(
                "valid_architectures",
                f"file says {expected} but the model rules accept {len(out)}; update the number (and its comment)",
            )
        return out

    def params(self) -> dict[str, BaseDistribution]:
        return {key: self._distribution(f"params.{key}", key, spec) for key, spec in self.file.params.items()}

    def _distribution(self, where: str, key: str, spec: list[Any] | Range) -> BaseDistribution:
        if isinstance(spec, list):
            self._check_values(where, key, spec)
            return CategoricalDistribution(spec)
        low, high, log, step = spec.low, spec.high, spec.log, spec.step
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
    compiler = _Compiler(path, base or Config(), compatible or model_rules)
    architectures = compiler.architectures()
    params = compiler.params()
    return SearchSpace(path, compiler.task, architectures, params, compiler.file.description.strip())
