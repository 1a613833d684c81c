"""``folder``: ``images/`` + ``masks/`` paired by file stem, and an optional ``unlabeled/``.

Layout::

    root/images/<stem>.png|tif|jpg|bmp|dcm     root/masks/<stem>.png|tif     root/unlabeled/<any image>

Images may be DICOM (read through the DICOM reader: modality/VOI LUT, geometry in ``meta``), which
is how a folder such as Sunnybrook (``images/*.dcm``, ``masks/*.png`` with 0/255,
``unlabeled/*.dcm``) is read; the ``dicom`` source is the alternative for arbitrary DICOM trees.
Masks are binary {0, 255} (-> {0, 1}) or class indices. An image in ``images/`` without a mask, a
mask without an image and a mask whose shape differs from its image are problems, reported naming
the file before anything is cached. The group is the DICOM PatientID when present, else the
``data.group_pattern`` match on the stem, else the stem. Files are read one at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from automl_al.config import DataConfig
from automl_al.data.problems import Problems
from automl_al.data.readers import MASK_SUFFIXES, is_image_file, read_image, read_mask
from automl_al.data.records import BadFileError, DataError, Decoded, Record
from automl_al.data.sources import SOURCES
from automl_al.data.sources.dicom import group_of


def list_files(folder: Path) -> list[Path]:
    """Non-hidden files of ``folder`` (not recursive), sorted; [] when it does not exist. A broken
    symbolic link is listed too, so that reading it reports it instead of losing an image quietly."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if not p.is_dir() and not p.name.startswith("."))


def image_files(folder: Path, problems: Problems) -> list[Path]:
    """The images of ``folder``; any other file is a problem (a stray file may be a lost image)."""
    out = []
    for path in list_files(folder):
        if is_image_file(path):
            out.append(path)
        else:
            problems.report(path, "not an image (expected PNG, JPEG, BMP, TIFF or DICOM); remove it or convert it")
    return out


def records_of(
    path: Path, mask_path: Path | None, cfg: DataConfig, problems: Problems, group: str | None = None
) -> Iterator[Record]:
    """Records of one image file (several for multi-frame files), with its mask when given."""
    try:
        frames: list[Decoded] = read_image(path)
        mask = read_mask(mask_path) if mask_path is not None else None
    except BadFileError as e:
        problems.report(e.path, e.problem)
        return
    if mask is not None:
        if len(frames) > 1:
            problems.report(path, f"has {len(frames)} frames but its mask {mask_path.name} is one 2-D image; "
                                  "split the frames into single files")
            return
        if mask.shape != frames[0].image.shape[1:]:
            problems.report(mask_path, f"mask shape {mask.shape} differs from its image {path.name} "
                                       f"shape {tuple(frames[0].image.shape[1:])}")
            return
    for decoded in frames:
        suffix = "" if decoded.frame is None else f"#frame={decoded.frame}"
        meta = dict(decoded.meta)
        if mask_path is not None:
            meta["mask_file"] = str(mask_path)
        yield Record(
            id=f"{path.stem}{suffix}",
            image=decoded.image,
            target=mask,
            group=group or group_of(decoded.meta, path.stem, cfg.group_pattern),
            source=f"{path}{suffix}",
            meta=meta,
        )


def _masks_by_stem(masks_dir: Path, problems: Problems) -> dict[str, Path]:
    masks: dict[str, Path] = {}
    for path in list_files(masks_dir):
        if path.suffix.lower() not in MASK_SUFFIXES:
            problems.report(path, "masks must be PNG or TIFF; remove or convert this file")
        elif path.stem in masks:
            problems.report(path, f"two masks for stem {path.stem!r} (also {masks[path.stem].name}); keep one")
        else:
            masks[path.stem] = path
    return masks


@SOURCES.register("folder")
def folder_source(cfg: DataConfig, problems: Problems) -> Iterator[Record]:
    root = Path(cfg.path)
    images_dir, masks_dir, unlabeled_dir = root / "images", root / "masks", root / "unlabeled"
    if not images_dir.is_dir() and not unlabeled_dir.is_dir():
        raise DataError(f"{root}: no images/ or unlabeled/ folder; data.source=folder expects "
                        "images/ (+ masks/ with the same file stems) and/or unlabeled/")
    images = image_files(images_dir, problems)
    unlabeled = image_files(unlabeled_dir, problems)
    if not images and not unlabeled:
        raise DataError(f"{root}: images/ and unlabeled/ hold no image files (empty folder)")
    if images and not masks_dir.is_dir():
        raise DataError(f"{images_dir}: labeled images but no {masks_dir.name}/ folder; add masks/ "
                        "(same file stems) or move the images to unlabeled/")
    masks = _masks_by_stem(masks_dir, problems)
    stems = {p.stem for p in images}
    for stem in sorted(set(masks) - stems):
        problems.report(masks[stem], f"mask has no image {images_dir.name}/{stem}.*; remove it or add the image")
    for path in images:
        mask = masks.get(path.stem)
        if mask is None:
            problems.report(path, f"no mask {masks_dir.name}/{path.stem}.png (or .tif); add it or move "
                                  "the image to unlabeled/")
            continue
        yield from records_of(path, mask, cfg, problems)
    for path in unlabeled:
        yield from records_of(path, None, cfg, problems)
