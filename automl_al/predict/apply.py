"""Apply a trained model to new files: masks (PNG for 2-D images, NIfTI for volumes, with the input's
geometry) or a class CSV, optionally with uncertainty maps.

Every input goes through the training preprocessing (channels, size, per-image normalisation) and
every prediction is mapped back to the input's own grid, so a mask overlays its image pixel for pixel.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from automl_al.config import DataConfig
from automl_al.data.preprocess import fit_image, match_channels, normalize
from automl_al.data.readers import read_image
from automl_al.data.readers.nifti import channels_first, read_volume, slices
from automl_al.data.records import BadFileError, DataError
from automl_al.predict.model_io import Predictor
from automl_al.predict.uncertainty import probs_and_uncertainty, uncertainty_method
from automl_al.utils import atomic_write_bytes, progress_bar, select_device

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm"}
VOLUME_SUFFIXES = (".nii.gz", ".nii")
BATCH = 16


@dataclass
class Prediction:
    """Probabilities ``[N, C, *S]`` and predictive entropy ``[N, *S]`` on the input's own grid."""

    probs: np.ndarray
    uncertainty: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        return self.probs.argmax(axis=1)


def find_inputs(inputs: list[Path]) -> list[tuple[Path, Path]]:
    """``(file, name relative to its input)`` for every image or volume; folders are searched
    recursively. An input that doesn't exist, or a folder with nothing to predict, is an error."""
    found: list[tuple[Path, Path]] = []
    for item in inputs:
        if item.is_file():
            found.append((item, Path(item.name)))
        elif item.is_dir():
            files = sorted(p for p in item.rglob("*") if not p.is_dir() and _kind(p) is not None)  # broken links: reported
            if not files:
                raise DataError(f"{item}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) or NIfTI volumes in this folder")
            found += [(p, p.relative_to(item)) for p in files]
        else:
            raise DataError(f"{item}: no such file or folder")
    return found


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(VOLUME_SUFFIXES):
        return "volume"
    return "image" if path.suffix.lower() in IMAGE_SUFFIXES else None


def _stem(name: Path) -> Path:
    text = name.name
    for suffix in (*VOLUME_SUFFIXES, name.suffix):
        if suffix and text.lower().endswith(suffix):
            return name.with_name(text[: -len(suffix)])
    return name


def restore(x: torch.Tensor, shape: tuple[int, int], cfg: DataConfig, *, probabilities: bool = True) -> torch.Tensor:
    """``[N, C, h, w]`` at ``image_size`` -> ``[N, C, H, W]`` on the original grid: the inverse of
    :func:`automl_al.data.preprocess.fit_image` (bilinear resize back, or undo pad + centre crop).
    Pixels the crop cut away become background (probabilities) or zero (maps)."""
    if tuple(x.shape[-2:]) == tuple(shape):
        return x
    if cfg.resize == "resize":
        return F.interpolate(x, size=shape, mode="bilinear", align_corners=False)
    out = torch.zeros((*x.shape[:2], *shape), dtype=x.dtype)
    if probabilities:
        out[:, 0] = 1.0
    spans = []
    for orig, target in zip(shape, x.shape[-2:], strict=True):
        pad = max(target - orig, 0)
        top = (orig + pad - target) // 2  # crop offset in padded coordinates
        lo, hi = max(top, pad // 2), min(top + target, pad // 2 + orig)  # overlap with the original
        spans.append((slice(lo - pad // 2, hi - pad // 2), slice(lo - top, hi - top)))
    (oy, py), (ox, px) = spans
    out[:, :, oy, ox] = x[:, :, py, px]
    return out


class Applier:
    """Runs a :class:`Predictor` on raw images of one shape ``[N, C, H, W]`` (the frames of one file
    or the slices of one volume), batch by batch, and maps the results back to that shape."""

    def __init__(self, predictor: Predictor, *, mc_samples: int, device: str = "auto") -> None:
        self.cfg = predictor.cfg
        self.device = select_device(device)
        self.model = predictor.model.to(self.device).eval()
        self.mc_samples = mc_samples

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        data = self.cfg.data
        return normalize(fit_image(match_channels(image.astype(np.float32), data.in_channels), data), data)

    def __call__(self, images: np.ndarray) -> Prediction:
        shape = tuple(images.shape[-2:])
        probs, maps = [], []
        for start in range(0, len(images), BATCH):
            x = torch.from_numpy(np.stack([self._prepare(im) for im in images[start : start + BATCH]])).to(self.device)
            p, u = probs_and_uncertainty(self.model, x, mc_samples=self.mc_samples)
            p, u = p.float().cpu(), u.float().cpu()
            if self.cfg.task == "segmentation":
                p = restore(p, shape, self.cfg.data)  # type: ignore[arg-type]
                u = restore(u[:, None], shape, self.cfg.data, probabilities=False)[:, 0]  # type: ignore[arg-type]
            probs.append(p.numpy())
            maps.append(u.numpy())
        return Prediction(np.concatenate(probs), np.concatenate(maps))


@dataclass
class PredictSummary:
    written: list[Path]
    inputs: int
    method: str
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, problem) with on_bad_file="skip"


def _png_bytes(mask: np.ndarray, classes: int) -> bytes:
    """Class indices as an 8-bit PNG; binary masks use {0, 255} like the masks users give us."""
    from PIL import Image

    values = (mask * 255 if classes == 2 else mask).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(values).save(buf, format="PNG")
    return buf.getvalue()


def _tiff_bytes(array: np.ndarray) -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, array.astype(np.float32))
    return buf.getvalue()


def _nifti(data: np.ndarray, reference: Path, dtype: type) -> bytes:
    """``data`` [X, Y, Z] as NIfTI bytes with the reference volume's affine and header (geometry)."""
    import nibabel as nib

    ref = nib.load(reference)
    header = ref.header.copy()
    header.set_data_dtype(dtype)
    image = nib.Nifti1Image(data.astype(dtype), ref.affine, header)
    return image.to_bytes() if not str(reference).endswith(".gz") else gzip.compress(image.to_bytes(), mtime=0)


def _read_stack(path: Path, kind: str, axis: int) -> tuple[np.ndarray, list[str]]:
    """``[N, C, H, W]`` raw images of one file and a label per frame/slice ('' when single)."""
    if kind == "volume":
        volume = read_volume(path)
        stack = slices(channels_first(volume.data), axis)
        return np.ascontiguousarray(stack, dtype=np.float32), [f"slice={i}" for i in range(len(stack))]
    decoded = read_image(path)
    frames = [f"frame={d.frame}" if d.frame is not None else "" for d in decoded]
    return np.stack([d.image for d in decoded]).astype(np.float32), frames


def predict_files(
    predictor: Predictor,
    inputs: list[Path],
    out: Path,
    *,
    uncertainty: bool = False,
    mc_samples: int = 20,
    device: str = "auto",
    progress: bool = True,
    on_bad_file: Literal["error", "skip"] = "error",
) -> PredictSummary:
    """Predict every image or volume under ``inputs`` into ``out``.

    Segmentation: ``<name>.png`` per 2-D image (``<name>_frame_NNN.png`` per frame of a multi-frame
    DICOM) or ``<name>.nii.gz`` per volume with the input's affine and header; with ``uncertainty``
    also ``<name>_uncertainty.tif`` / ``_uncertainty.nii.gz`` (predictive entropy, nats).
    Classification: ``predictions.csv`` with the label, class name and probabilities per image.
    ``on_bad_file="skip"`` leaves out a file that cannot be read as an image (a DICOM-SEG, a structured
    report, a truncated file: common in PACS exports) and lists it in the summary, as ``data`` does.
    """
    cfg = predictor.cfg
    files = find_inputs(inputs)
    apply = Applier(predictor, mc_samples=mc_samples, device=device)
    names = cfg.data.class_names or [f"class_{k}" for k in range(cfg.data.classes)]
    written: list[Path] = []
    rows: list[list[object]] = []
    skipped: list[tuple[str, str]] = []
    for path, name in progress_bar(files, desc="predict", unit="file", disable=not progress):
        kind = _kind(path) or "image"
        try:
            stack, frames = _read_stack(path, kind, cfg.data.slice_axis)
        except BadFileError as e:
            if on_bad_file == "error":
                raise
            skipped.append((e.path, e.problem))
            continue
        pred = apply(stack)
        stem = out / _stem(name)
        if cfg.task == "classification":
            for frame, p, u in zip(frames, pred.probs, pred.uncertainty, strict=True):
                k = int(p.argmax())
                rows.append([str(path), frame, k, names[k], *(f"{v:.6f}" for v in p), f"{float(u):.6f}"])
            continue
        if kind == "volume":
            outputs = {stem.with_name(stem.name + ".nii.gz"): _nifti(np.moveaxis(pred.labels, 0, cfg.data.slice_axis), path, np.uint8)}
            if uncertainty:
                outputs[stem.with_name(stem.name + "_uncertainty.nii.gz")] = _nifti(np.moveaxis(pred.uncertainty, 0, cfg.data.slice_axis), path, np.float32)
        else:
            outputs = {}
            for i, frame in enumerate(frames):
                base = stem.with_name(stem.name + (f"_frame_{i:03d}" if len(frames) > 1 else ""))
                outputs[base.with_name(base.name + ".png")] = _png_bytes(pred.labels[i], cfg.data.classes)
                if uncertainty:
                    outputs[base.with_name(base.name + "_uncertainty.tif")] = _tiff_bytes(pred.uncertainty[i])
        for target, data in outputs.items():
            atomic_write_bytes(target, data)
            written.append(target)
    if cfg.task == "classification":
        table = out / "predictions.csv"
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["path", "frame", "label", "class_name", *(f"p_{n}" for n in names), "uncertainty"])
        writer.writerows(rows)
        atomic_write_bytes(table, buf.getvalue().encode())
        written.append(table)
    return PredictSummary(written, len(files), uncertainty_method(apply.model, mc_samples), skipped)
