"""Medical Segmentation Decathlon / nnU-Net v2 folders: ``dataset.json``, ``imagesTr/``, ``labelsTr/``
and optionally ``imagesTs/`` (unlabeled), sliced into 2-D records.

Both conventions are read: MSD (``"labels": {"0": "background", ...}``, one file per case, 4-D files
for several modalities) and nnU-Net v2 (``"labels": {"background": 0, ...}``, ``"channel_names"``,
one file per channel named ``<case>_0000``). Every slice keeps its case as ``group`` so that a split
never puts two slices of one volume on both sides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from automl_al.config import DataConfig
from automl_al.data.problems import Problems
from automl_al.data.readers.nifti import Volume, channels_first, read_volume, slices
from automl_al.data.records import BadFileError, DataError, Record
from automl_al.data.sources import SOURCES

_CHANNEL = re.compile(r"^(?P<case>.+)_(?P<channel>\d{4})$")


@dataclass
class Spec:
    """What ``dataset.json`` declares: label values, file ending, and per-channel files (v2)."""

    labels: dict[int, str]
    file_ending: str
    channel_files: bool


@dataclass
class Case:
    id: str
    images: list[Path]  # one file (MSD) or one per channel (nnU-Net v2), in channel order
    label: Path | None


def read_spec(root: Path, classes: int) -> Spec:
    """Parse ``dataset.json`` and check its label count against ``data.classes``."""
    path = root / "dataset.json"
    if not path.is_file():
        raise DataError(f"{path}: not found; an MSD/nnU-Net folder needs dataset.json beside imagesTr/")
    try:
        raw = json.loads(path.read_text())
        labels = _labels(raw["labels"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise DataError(f"{path}: cannot read its 'labels' ({e}); expected e.g. {{\"0\": \"background\", \"1\": \"tumour\"}}") from None
    if len(labels) != classes:
        raise DataError(
            f"{path}: declares {len(labels)} labels ({', '.join(labels.values())}) but data.classes is "
            f"{classes}; set data.classes: {len(labels)}"
        )
    return Spec(labels=labels, file_ending=raw.get("file_ending", ".nii.gz"), channel_files="channel_names" in raw)


def _labels(raw: dict[str, Any]) -> dict[int, str]:
    """MSD ``{"0": "background"}`` or nnU-Net v2 ``{"background": 0}`` -> ``{0: "background"}``."""
    if all(str(k).lstrip("-").isdigit() for k in raw):
        return {int(k): str(v) for k, v in raw.items()}
    if all(isinstance(v, int) for v in raw.values()):
        return {int(v): str(k) for k, v in raw.items()}
    raise ValueError("label values must be integers (region-based nnU-Net labels are not supported)")


def find_cases(folder: Path, labels: Path | None, spec: Spec) -> list[Case]:
    """Cases in ``folder`` (sorted), paired with ``labels/<case><ending>`` when ``labels`` is given."""
    files = sorted(p for p in folder.glob(f"*{spec.file_ending}") if not p.name.startswith("._"))
    by_case: dict[str, list[Path]] = {}
    for file in files:
        stem = file.name[: -len(spec.file_ending)]
        match = _CHANNEL.match(stem) if spec.channel_files else None
        by_case.setdefault(match["case"] if match else stem, []).append(file)
    return [
        Case(case, images, labels / f"{case}{spec.file_ending}" if labels is not None else None)
        for case, images in by_case.items()
    ]


@SOURCES.register("msd")
def msd_source(cfg: DataConfig, problems: Problems) -> Iterator[Record]:
    """Slices of every training case (labeled) and of ``imagesTs/`` cases (unlabeled)."""
    root = Path(cfg.path)  # type: ignore[arg-type]  # DataConfig requires a path for this source
    spec = read_spec(root, cfg.classes)
    if not (root / "imagesTr").is_dir():
        raise DataError(f"{root}: no imagesTr/ folder (MSD layout: dataset.json, imagesTr/, labelsTr/)")
    cases = find_cases(root / "imagesTr", root / "labelsTr", spec)
    if (root / "imagesTs").is_dir():
        cases += find_cases(root / "imagesTs", None, spec)
    for case in cases:
        try:
            yield from _case_records(case, spec, cfg)
        except BadFileError as e:
            problems.report(e.path, e.problem)


def _case_records(case: Case, spec: Spec, cfg: DataConfig) -> Iterator[Record]:
    image = _read_image(case)
    label = _read_label(case, image, spec) if case.label is not None else None
    image_slices = slices(channels_first(image.data), cfg.slice_axis)
    label_slices = slices(label[None], cfg.slice_axis)[:, 0] if label is not None else None
    for i, pixels in enumerate(image_slices):
        target = None if label_slices is None else label_slices[i].astype(np.int64)
        if target is not None and not cfg.keep_empty_slices and not target.any():
            continue
        yield Record(
            id=f"{case.id}#slice={i:03d}",
            image=np.ascontiguousarray(pixels, dtype=np.float32),
            target=target,
            group=case.id,
            source=f"{case.images[0]}#slice={i}",
            meta={**image.meta, "case": case.id, "slice_axis": cfg.slice_axis, "slice_index": i},
        )


def _read_image(case: Case) -> Volume:
    """One volume; nnU-Net v2 channel files are stacked channels-last after checking their shapes."""
    volumes = [read_volume(p) for p in case.images]
    first = volumes[0]
    for path, volume in zip(case.images[1:], volumes[1:]):
        if volume.data.shape != first.data.shape:
            raise BadFileError(path, f"channel shape {volume.data.shape} differs from {first.data.shape} of {case.images[0]}")
    if len(volumes) == 1:
        return first
    return Volume(data=np.stack([v.data for v in volumes], axis=-1), meta=first.meta)


def _read_label(case: Case, image: Volume, spec: Spec) -> np.ndarray:
    """The case's label volume as integers, checked against the image shape and declared labels."""
    path = case.label
    if not path.is_file():  # type: ignore[union-attr]
        raise BadFileError(case.images[0], f"no label file {path}; every imagesTr case needs one in labelsTr/")
    label = read_volume(path).data  # type: ignore[arg-type]
    if label.shape != image.spatial_shape:
        raise BadFileError(path, f"label shape {label.shape} differs from image shape {image.spatial_shape} of {case.images[0]}")
    values = np.unique(label)
    undeclared = [v for v in values.tolist() if v not in spec.labels]
    if undeclared:
        raise BadFileError(
            path,
            f"label values {undeclared} are not declared in dataset.json labels {sorted(spec.labels)}",
        )
    return label.astype(np.int64)
