"""The search-space schema (pydantic): shape errors name the file and the dotted key, all at once,
and the file's own key order decides the order architectures are enumerated in."""

from __future__ import annotations

from pathlib import Path

import pytest
from search_helpers import TINY_SPACE

from automl_al.search.space import SearchSpaceError, load_space
from automl_al.search.space.schema import SpaceFile, parse_space_file


def _load(tmp_path: Path, text: str):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return load_space(path, compatible=lambda *a: True)


def test_every_shape_error_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = TINY_SPACE.replace("task: segmentation", "task: detection") + "  data.augment: [none]\n"
    with pytest.raises(SearchSpaceError) as err:
        _load(tmp_path, text)
    message = str(err.value)
    assert "task: must be 'segmentation' or 'classification', got 'detection'" in message
    assert "params.data.augment: only model.*, train.* keys can be searched" in message
    assert message.count(str(tmp_path / "space.yaml")) == 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"task": "classification", "architecture": {"arch": ["Unet"], "encoder": ["resnet18"]}},
         "architecture.arch: unknown key for a classification space; valid keys: encoder, image_size"),
        ({"architecture": {"arch": ["Unet"]}}, "architecture.encoder: is required"),
        ({"architecture": {"arch": ["Unet"], "encoder": ["r"]}, "params": {"train.lr": {"low": 1, "high": 2, "lg": 1}}},
         "params.train.lr.lg: unknown key; valid keys: low, high, log, step"),
        ({"architecture": {"arch": ["Unet"], "encoder": ["r"]}, "params": {"train.lr": {"low": "a", "high": 2}}},
         "params.train.lr.low: must be a number, got 'a'"),
        ({"architecture": {"arch": ["Unet"], "encoder": ["r"]}, "params": {"train.lr": "fast"}},
         "params.train.lr: must be a list of values or {low, high[, log][, step]}, got 'fast'"),
        ({"architecture": {"arch": ["Unet"], "encoder": [["a"]]}},
         "architecture.encoder: choices must be numbers, strings, booleans or null, got ['a']"),
        ({"architecture": {"arch": ["Unet"], "encoder": ["r"]}, "valid_architectures": "1"},
         "valid_architectures: Input should be a valid integer, got '1'"),
        ({"architecture": {"arch": ["Unet"], "encoder": ["r"]}, "params": ["train.lr"]},
         "params: must be a mapping of dotted config keys (train.lr) to a list or a range"),
    ],
)
def test_shape_errors_say_the_key_and_the_fix(raw: dict, expected: str) -> None:
    with pytest.raises(SearchSpaceError, match="^s.yaml: ") as err:
        parse_space_file(raw, Path("s.yaml"))
    assert expected in str(err.value)


def test_what_may_be_left_out_has_the_old_defaults() -> None:
    file = parse_space_file({"architecture": {"encoder": ["r"], "arch": ["Unet"]}, "params": None}, Path("s.yaml"))
    assert file == SpaceFile(task="segmentation", description="", architecture={"encoder": ["r"], "arch": ["Unet"]},
                             valid_architectures=None, params={})
    assert list(file.architecture) == ["encoder", "arch"]  # the file's order, kept


def test_the_files_key_order_is_the_enumeration_order(tmp_path: Path) -> None:
    swapped = TINY_SPACE.replace("  arch: [Unet, FPN]\n  encoder: [resnet18, mobilenet_v2]\n",
                                 "  encoder: [resnet18, mobilenet_v2]\n  arch: [Unet, FPN]\n")
    assert list(_load(tmp_path, swapped).architectures) == [
        "Unet/resnet18/depth3/32px", "FPN/resnet18/depth3/32px",
        "Unet/mobilenet_v2/depth3/32px", "FPN/mobilenet_v2/depth3/32px",
    ]
