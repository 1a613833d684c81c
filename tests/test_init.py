"""``automl-al init``: every template loads, explains every key, and points at the user's data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from automl_al.cli import main
from automl_al.config import Config, load_config
from automl_al.templates import DATA_LAYOUTS, LAYOUTS, template_text, with_data_path, write_template


def _keys(tree: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in tree.items():
        out.add(prefix + k)
        if isinstance(v, dict):
            out |= _keys(v, f"{prefix}{k}.")
    return out


def _fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    out = set()
    for name, info in model.model_fields.items():
        out.add(prefix + name)
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out |= _fields(ann, f"{prefix}{name}.")
    return out


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_template_loads_and_comments_every_key(layout: str, tmp_path: Path) -> None:
    (written, *extra) = write_template(layout, tmp_path / "cfg.yaml")
    cfg = load_config(written)
    assert isinstance(cfg, Config)
    lines = written.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\s*[A-Za-z_]+:", line):
            previous = lines[i - 1].strip() if i else ""
            assert "#" in line or previous.startswith("#"), f"{layout}: key without a comment: {line!r}"
    # Nothing in the template is a silent default the loader ignores: every key is a real field.
    assert _keys(yaml.safe_load(written.read_text())) <= _fields(Config)


@pytest.mark.parametrize("layout", DATA_LAYOUTS)
def test_user_templates_show_every_option_of_the_shared_sections(layout: str) -> None:
    shown = _keys(yaml.safe_load(template_text(layout)))
    for section in ("model", "train", "tracking", "search", "active"):
        missing = {f for f in _fields(Config) if f.startswith(section + ".")} - shown
        assert not missing, f"{layout}.yaml does not show {sorted(missing)}"


def test_layouts_set_the_source_and_task() -> None:
    for layout in DATA_LAYOUTS:
        raw = yaml.safe_load(template_text(layout))
        assert raw["data"]["source"] == layout
        assert raw["task"] == ("classification" if layout == "classes" else "segmentation")


def test_init_fills_in_the_data_path_relative_to_the_config(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "my data"  # a space: the path must be quoted correctly
    data.mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--layout", "msd", str(data), "-o", "configs/hippo.yaml"]) == 0
    cfg = load_config(tmp_path / "configs" / "hippo.yaml")
    assert cfg.data.source == "msd" and cfg.data.path == data.resolve()
    line = _path_line((tmp_path / "configs" / "hippo.yaml").read_text())
    assert line.startswith('  path: "../my data"  ')
    assert line.index("#") == _path_line(template_text("msd")).index("#")  # the comments stay aligned


def _path_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("  path: "))


def test_a_long_data_path_keeps_two_spaces_before_its_comment(tmp_path: Path) -> None:
    data = tmp_path / ("volumes-" * 8)
    line = _path_line(with_data_path(template_text("msd"), data, tmp_path))
    assert line.startswith(f'  path: "{data.name}"  # the folder holding dataset.json')


def test_init_detects_the_layout_from_the_folder(tmp_path: Path, monkeypatch, shared_data: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", str(shared_data / "msd_hippocampus"), "-o", "c.yaml"]) == 0
    cfg = load_config(tmp_path / "c.yaml")
    assert cfg.data.source == "msd" and cfg.data.path == (shared_data / "msd_hippocampus").resolve()


def test_init_refuses_to_overwrite(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert load_config(tmp_path / "automl-al.yaml").data.source == "folder"
    assert main(["init", "--layout", "classes"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["init", "--layout", "classes", "--force"]) == 0
    assert load_config(tmp_path / "automl-al.yaml").task == "classification"


def test_demo_template_brings_its_search_space(tmp_path: Path) -> None:
    written = write_template("demo", tmp_path / "demo.yaml")
    assert [p.name for p in written] == ["demo.yaml", "demo-space.yaml"]
    space = yaml.safe_load((tmp_path / "demo-space.yaml").read_text())
    assert space["task"] == "segmentation" and load_config(written[0]).search.space.name == "demo-space.yaml"


def test_unknown_layout_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="valid layouts: folder, msd, dicom, classes, demo"):
        template_text("nifti")
