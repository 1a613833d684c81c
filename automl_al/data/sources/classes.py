"""``classes``: image classification from one folder per class, or from a CSV of ``path,label``.

Folder layout: ``root/<class name>/*.png|tif|jpg|bmp|dcm``; a folder named ``unlabeled`` holds the
unlabeled pool. CSV layout (``data.labels_csv``): a header ``path,label``, paths relative to
``data.path``, an empty label = unlabeled. The target is the index of the class name in
``data.class_names`` when given, else in the sorted class names; the count must equal
``data.classes`` so that the model head and the data agree. Ids are the path relative to the root
without suffix (``cat/001``), so equal file names in two classes stay distinct.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterator
from pathlib import Path

from automl_al.config import DataConfig
from automl_al.data.problems import Problems
from automl_al.data.records import DataError, Record
from automl_al.data.sources import SOURCES
from automl_al.data.sources.folder import image_files, records_of

UNLABELED = "unlabeled"

Row = tuple[Path, str | None]  # (image file, class name or None = unlabeled)


def _folder_rows(root: Path, problems: Problems) -> list[Row]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    rows = [(path, None if d.name == UNLABELED else d.name) for d in folders for path in image_files(d, problems)]
    if not rows:
        raise DataError(f"{root}: no class folders with images (empty folder); data.source=classes expects "
                        "one subfolder of images per class (or data.labels_csv)")
    return rows


def _csv_rows(csv_path: Path, root: Path, problems: Problems) -> list[Row]:
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"path", "label"} <= set(reader.fieldnames):
            raise DataError(f"{csv_path}: data.labels_csv needs a header row 'path,label', got {reader.fieldnames}")
        rows: list[Row] = []
        for line, row in enumerate(reader, start=2):
            path = root / row["path"].strip()
            if not path.is_file():
                problems.report(path, f"listed in {csv_path.name} line {line} but the file does not exist")
                continue
            rows.append((path, row["label"].strip() or None))
    if not rows:
        raise DataError(f"{csv_path}: no usable rows (empty CSV)")
    return rows


def class_order(found: set[str], cfg: DataConfig, where: Path) -> list[str]:
    """Class names in target order; they must match ``data.class_names`` / ``data.classes``."""
    names = list(cfg.class_names) if cfg.class_names else sorted(found)
    unknown = sorted(found - set(names))
    if unknown:
        raise DataError(f"{where}: classes {unknown} are not in data.class_names {names}; add them or fix the labels")
    if len(names) != cfg.classes:
        raise DataError(f"{where}: {len(names)} classes {names} but data.classes={cfg.classes}; "
                        f"set data.classes: {len(names)}")
    return names


@SOURCES.register("classes")
def classes_source(cfg: DataConfig, problems: Problems) -> Iterator[Record]:
    root = Path(cfg.path)
    rows = _csv_rows(Path(cfg.labels_csv), root, problems) if cfg.labels_csv else _folder_rows(root, problems)
    names = class_order({label for _, label in rows if label is not None}, cfg, cfg.labels_csv or root)
    for path, label in rows:
        rel = path.relative_to(root).with_suffix("").as_posix() if path.is_relative_to(root) else path.stem
        for record in records_of(path, None, cfg, problems):
            frame = record.id[len(path.stem):]  # "" or "#frame=N"
            if label is None:
                yield dataclasses.replace(record, id=rel + frame)
            else:  # the name travels in meta, so a model trained on the cache can name its classes
                yield dataclasses.replace(record, id=rel + frame, target=names.index(label),
                                          meta={**record.meta, "class_name": label})
