"""The shape of a search-space file, as a pydantic schema (Optuna and torchgeo keep validation
declarative): what keys exist, which are lists of choices and which ranges.

What a value MEANS (is ``encoder_depth: 7`` a depth the config accepts? which architectures do the
model rules allow?) is checked when the file is compiled (:mod:`automl_al.search.space.compile`).
Every error names the file and the dotted key, e.g. ``space.yaml: params.train.lr: low must be
below high, got low=0.01, high=0.0001``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from automl_al.errors import AutomlAlError

# Architecture dimension (file key) -> dotted config key.
ARCH_KEYS = {
    "arch": "model.arch",
    "encoder": "model.encoder",
    "encoder_depth": "model.encoder_depth",
    "image_size": "data.image_size",
}
SEARCHABLE_SECTIONS = ("model", "train")
_OWN = "space"  # the error type of the messages written here, which say what they got if it helps
_TAGS = {"choices", "range", "[key]"}  # what pydantic adds to an error's location besides the keys
ArchKey = Literal["arch", "encoder", "encoder_depth", "image_size"]  # = ARCH_KEYS


class SearchSpaceError(AutomlAlError, ValueError):
    """A search-space file is invalid; the message names the file and the key."""


def _fail(message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError(_OWN, message, context)


def _mapping(what: str) -> Any:
    """A before-validator refusing anything but a mapping, saying what the mapping holds."""

    def check(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _fail(f"must be {what}")
        return value

    return BeforeValidator(check)


def _choices(value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _fail("must be a non-empty list of values, got {value}", value=repr(value))
    if len(set(map(repr, value))) != len(value):
        raise _fail("lists a value twice: {value}", value=str(value))
    for v in value:
        if v is not None and not isinstance(v, bool | int | float | str):
            raise _fail("choices must be numbers, strings, booleans or null, got {value}", value=repr(v))
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail("must be a number, got {value}", value=repr(value))
    return value


def _param_key(key: str) -> str:
    if key in ARCH_KEYS.values():
        raise _fail("is part of the architecture: list it under architecture: instead")
    if key.split(".")[0] not in SEARCHABLE_SECTIONS or "." not in key:
        raise _fail(f"only {', '.join(s + '.*' for s in SEARCHABLE_SECTIONS)} keys can be searched")
    return key


Choices = Annotated[list[Any], BeforeValidator(_choices)]  # one of these values
Number = Annotated[int | float, BeforeValidator(_number)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Section):
    """``{low, high[, log][, step]}``: ints give an int range, else a float range."""

    low: Number
    high: Number
    log: bool = False
    step: Number | None = None

    @model_validator(mode="after")
    def _sensible(self) -> Range:
        if self.low >= self.high:
            raise _fail("low must be below high, got low={low}, high={high}", low=self.low, high=self.high)
        if self.log and (self.low <= 0 or self.step is not None):
            raise _fail("a log range needs low > 0 and no step")
        return self


def _spec_kind(value: Any) -> str | None:
    return "choices" if isinstance(value, list) else "range" if isinstance(value, dict) else None


ParamSpec = Annotated[
    Annotated[Choices, Tag("choices")] | Annotated[Range, Tag("range")],
    Discriminator(_spec_kind, custom_error_type="spec",
                  custom_error_message="must be a list of values or {low, high[, log][, step]}"),
]


class SpaceFile(_Section):
    """A whole search-space file."""

    task: Literal["segmentation", "classification"] = "segmentation"
    description: Annotated[str, BeforeValidator(str)] = ""
    # a dict, not a model: the file's key order is the order architectures are enumerated in
    architecture: Annotated[
        dict[ArchKey, Choices],
        _mapping("a mapping with arch/encoder lists (as in search_spaces/segmentation-cpu.yaml)"),
    ] = Field(default=None, validate_default=True)
    valid_architectures: StrictInt | None = None  # the count the rules allow; checked on compiling
    params: Annotated[
        dict[Annotated[str, AfterValidator(_param_key)], ParamSpec],
        _mapping("a mapping of dotted config keys (train.lr) to a list or a range"),
        BeforeValidator(lambda v: v or {}),  # before validators run last to first: this one first
    ] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _keys_of_the_task(self) -> SpaceFile:
        classify = self.task == "classification"
        allowed = ("encoder", "image_size") if classify else tuple(ARCH_KEYS)
        unknown = [k for k in self.architecture if k not in allowed]
        if unknown:
            raise _fail("architecture.{key}: unknown key for a {task} space; valid keys: {valid}",
                        key=unknown[0], task=self.task, valid=", ".join(allowed))
        missing = [k for k in (("encoder",) if classify else ("arch", "encoder")) if k not in self.architecture]
        if missing:
            raise _fail("architecture.{key}: is required", key=missing[0])
        return self


def _describe(error: Any) -> str:
    """One pydantic error as ``key: message``, the key dotted as in the file."""
    loc = [str(p) for p in error["loc"] if p not in _TAGS]
    where = ".".join(loc)
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        model: type[BaseModel] = Range if loc[0] == "params" else SpaceFile
        message = f"unknown key; valid keys: {', '.join(model.model_fields)}"
    elif kind == "literal_error" and error["loc"][-1] == "[key]":
        message = f"unknown key; valid keys: {', '.join(ARCH_KEYS)}"
    elif kind == "missing":
        message = "is required"
    elif kind == "literal_error":
        message = f"must be {error['ctx']['expected']}, got {error['input']!r}"
    elif kind != _OWN:
        message = f"{message}, got {error['input']!r}"
    return f"{where}: {message}" if where else message


def parse_space_file(raw: dict[str, Any], path: Path) -> SpaceFile:
    """``raw`` (a file's YAML mapping) as a :class:`SpaceFile`; every problem found is reported at
    once, each naming the file and the key."""
    try:
        return SpaceFile.model_validate(raw)
    except ValidationError as e:
        raise SearchSpaceError("; ".join(f"{path}: {_describe(err)}" for err in e.errors())) from None
