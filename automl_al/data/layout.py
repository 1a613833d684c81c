"""Guess a folder's layout (for ``automl-al data FOLDER`` / ``init``) and summarise prepared data.

The summary is what a user checks before spending hours on training: how many images are labeled
in each split, which original sizes were seen, how balanced the classes are, which files were bad.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from automl_al.data.cache import UNLABELED_MASK
from automl_al.data.prepared import PreparedData
from automl_al.data.records import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm"}


def _has_images(folder: Path) -> bool:
    return any(p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir())


def _is_dicom(path: Path) -> bool:
    if path.suffix.lower() == ".dcm":
        return True
    try:
        with open(path, "rb") as f:
            return f.read(132)[128:] == b"DICM"
    except OSError:
        return False


def detect_layout(folder: Path) -> str:
    """``msd`` (dataset.json + imagesTr/), ``folder`` (images/), ``classes`` (one subfolder of
    images per class), or ``dicom`` (a tree of DICOM files); a :class:`DataError` otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    if (folder / "dataset.json").is_file() and (folder / "imagesTr").is_dir():
        return "msd"
    if (folder / "images").is_dir():
        return "folder"
    subdirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if len([d for d in subdirs if _has_images(d)]) >= 2:
        return "classes"
    if any(p.is_file() and _is_dicom(p) for p in folder.rglob("*")):
        return "dicom"
    raise DataError(
        f"{folder}: unknown data layout; expected dataset.json + imagesTr/ (MSD / nnU-Net), images/ "
        "(+ masks/, unlabeled/), one subfolder of images per class, or a tree of DICOM files"
    )


def _class_balance(prepared: PreparedData) -> dict[str, float]:
    """Pixel fraction per class (segmentation) or image count per class (classification), labeled only."""
    rows = np.flatnonzero(prepared.labeled)
    if rows.size == 0:
        return {}
    targets = np.load(prepared.root / "targets.npy", mmap_mode="r")
    if prepared.task == "classification":
        values, counts = np.unique(np.asarray(targets[rows]), return_counts=True)
        return {str(int(v)): int(c) for v, c in zip(values, counts, strict=True)}
    counts = np.zeros(UNLABELED_MASK + 1, dtype=np.int64)
    for start in range(0, rows.size, 256):  # chunks: bounded memory on large sets
        counts += np.bincount(np.asarray(targets[rows[start : start + 256]]).ravel(), minlength=counts.size)
    counts = counts[:UNLABELED_MASK]
    total = counts.sum()
    return {str(c): round(float(counts[c] / total), 6) for c in np.flatnonzero(counts)}


def summarize(prepared: PreparedData) -> dict[str, Any]:
    """Counts (flat ``str -> int``, usable as tracking tags), sizes, class balance, problems."""
    labeled = dict(zip(prepared.ids, prepared.labeled.tolist(), strict=True))
    counts = {"images": len(prepared.ids), "labeled": int(prepared.labeled.sum()),
              "unlabeled": int((~prepared.labeled).sum()), "groups": len(set(prepared.groups)),
              "problems": len(prepared.problems)}
    for name, ids in prepared.splits.items():
        counts[name] = len(ids)
        n_lab = sum(labeled[i] for i in ids)
        counts[f"{name}_labeled"] = n_lab
        counts[f"{name}_unlabeled"] = len(ids) - n_lab
    counts["unused"] = len(prepared.ids) - sum(len(v) for v in prepared.splits.values())
    sizes = np.array([m["original_size"] for m in prepared.meta])
    return {
        "task": prepared.task,
        "cache": str(prepared.root),
        "counts": counts,
        "original_size": {"min": sizes.min(axis=0).tolist(), "max": sizes.max(axis=0).tolist()},
        "class_balance": _class_balance(prepared),
        "problems": [list(p) for p in prepared.problems],
    }


def format_summary(summary: dict[str, Any]) -> str:
    """Plain-text report of :func:`summarize` for the terminal."""
    c = summary["counts"]
    lines = [
        f"task: {summary['task']}   cache: {summary['cache']}",
        f"images: {c['images']} ({c['labeled']} labeled, {c['unlabeled']} unlabeled) in {c['groups']} groups",
    ]
    for name in ("test", "val", "pool"):
        if name in c:
            lines.append(f"  {name:<5} {c[name]:>6}  ({c[f'{name}_labeled']} labeled, {c[f'{name}_unlabeled']} unlabeled)")
    if c.get("unused"):
        lines.append(f"  unused {c['unused']:>5}  (unlabeled images of test/val groups, kept out to avoid leakage)")
    lo, hi = summary["original_size"]["min"], summary["original_size"]["max"]
    lines.append(f"original sizes (H x W): min {lo[0]} x {lo[1]}, max {hi[0]} x {hi[1]}")
    unit = "images" if summary["task"] == "classification" else "pixel fraction"
    balance = ", ".join(f"{k}: {v}" for k, v in summary["class_balance"].items()) or "no labels"
    lines.append(f"class balance ({unit}): {balance}")
    problems = summary["problems"]
    lines.append(f"problems: {len(problems)}" + ("" if problems else " (none)"))
    lines.extend(f"  {path}: {problem}" for path, problem in problems)
    return "\n".join(lines)
