"""Commented example configs shipped inside the package (so ``automl-al init`` and the built-in demo
work from an installed wheel, not only from a checkout).

A user template is ``<layout>.yaml`` (name, task, data, model, search: what depends on the data)
followed by ``common.yaml`` (train, tracking, active: the same for every layout). ``demo.yaml`` is a
complete config of its own with ``demo-space.yaml`` beside it.
"""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from pathlib import Path

DATA_LAYOUTS = ("folder", "msd", "dicom", "classes")
LAYOUTS = (*DATA_LAYOUTS, "demo")
DEMO_SPACE = "demo-space.yaml"


def _read(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def template_text(layout: str) -> str:
    """The commented YAML for ``layout``; unknown layouts list the valid ones."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; valid layouts: {', '.join(LAYOUTS)}")
    if layout == "demo":
        return _read("demo.yaml")
    return _read(f"{layout}.yaml") + _read("common.yaml")


def demo_config_path() -> Path:
    """The packaged demo config (a real file: setuptools installs package data unzipped)."""
    return Path(str(resources.files(__name__).joinpath("demo.yaml")))


def with_data_path(text: str, data_path: Path, config_dir: Path) -> str:
    """``text`` with its ``data.path`` pointing at ``data_path``, relative to the config's folder
    when that is shorter to read (``load_config`` resolves it against the file's folder)."""
    rel = os.path.relpath(data_path.resolve(), config_dir.resolve())
    value = rel if not rel.startswith(".." + os.sep + "..") else str(data_path.resolve())
    quoted = json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar: safe for any path

    def fill(m: re.Match[str]) -> str:  # keep the comment's column while the path fits before it
        return m.group(1) + quoted + " " * max(2, len("data") + len(m.group(2)) - len(quoted))

    new, n = re.subn(r"^(  path: )data( +)(?=#)", fill, text, count=1, flags=re.M)
    if n != 1:
        raise ValueError("template has no `  path: data` line to fill in")
    return new


def write_template(layout: str, out: Path, *, data_path: Path | None = None, force: bool = False) -> list[Path]:
    """Write the template for ``layout`` to ``out`` (and the demo's space file beside it).

    Returns the files written; refuses to overwrite unless ``force``.
    """
    out = Path(out)
    files = {out: template_text(layout)}
    if data_path is not None:
        if layout == "demo":
            raise ValueError("the demo generates its data: give no PATH with --layout demo")
        files[out] = with_data_path(files[out], data_path, out.parent)
    if layout == "demo":
        files[out.parent / DEMO_SPACE] = _read(DEMO_SPACE)
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{existing[0]} already exists; pass --force to overwrite it or -o to pick another file")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)
