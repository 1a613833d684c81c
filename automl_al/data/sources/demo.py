"""``demo``: a built-in SYNTHETIC dataset that looks like short-axis cardiac MRI.

Why: every command must run on a fresh clone with no data and no download. Each synthetic patient
is a stack of slices from base to apex: a bright LV blood pool (the mask, class 1) inside a darker
myocardial ring, a bright right ventricle beside it (a distractor that is *not* in the mask), a
body ellipse with smooth texture, then blur and noise. Size, position, ellipticity, contrast, noise
and blur vary per patient and per slice, so a model must learn the shape, not a threshold.

For classification each record also carries ``meta["label"]``: 1 ("large") when the cavity covers
more than :data:`LARGE_AREA` of the image, else 0 ("small"), and that name in
``meta["class_name"]``; the cache uses them when ``task: classification``. The data is generated
in memory with a fixed seed (same arrays on every machine), and every record says
``meta["synthetic"] = True``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
from scipy.ndimage import gaussian_filter

from automl_al.config import DataConfig
from automl_al.data.problems import Problems
from automl_al.data.records import Record
from automl_al.data.sources import SOURCES

log = logging.getLogger(__name__)

DEMO_SEED = 20_231
LARGE_AREA = 0.045
"""Cavity area as a fraction of the image above which a slice is labeled "large" (about half)."""
CLASS_NAMES = ["small", "large"]


def _ellipse(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, ry: float, rx: float, angle: float) -> np.ndarray:
    """Boolean mask of a rotated ellipse on the pixel grid."""
    c, s = np.cos(angle), np.sin(angle)
    dy, dx = yy - cy, xx - cx
    u, v = c * dx + s * dy, -s * dx + c * dy
    return (u / rx) ** 2 + (v / ry) ** 2 <= 1.0


def _slice(rng: np.random.Generator, patient: dict[str, float], depth: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One slice at relative depth ``depth`` in [0, 1] (0 = base); returns (image [H, W], mask)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    p = patient
    r = p["r0"] * (1.0 - 0.45 * depth) * rng.uniform(0.9, 1.1)  # apex is smaller; cardiac phase jitter
    cy = p["cy"] + rng.normal(0, 0.01 * size)
    cx = p["cx"] + rng.normal(0, 0.01 * size)
    ry, rx = r * p["ecc"], r / p["ecc"]
    wall = p["wall"]

    img = np.full((size, size), p["air"], dtype=np.float32)
    body = _ellipse(yy, xx, size / 2, size / 2, 0.46 * size, 0.42 * size, p["body_angle"])
    texture = gaussian_filter(rng.normal(size=(size, size)), sigma=size / 14)
    texture /= np.abs(texture).max() + 1e-6
    img[body] = p["tissue"] * (1.0 + 0.35 * texture[body])

    rv_r = r * p["rv_scale"]
    rv = _ellipse(yy, xx, cy + 0.3 * r, cx - (r + wall + 0.5 * rv_r), rv_r * 1.2, rv_r * 0.7, p["angle"])
    img[rv] = p["blood"] * p["rv_gain"]
    myo = _ellipse(yy, xx, cy, cx, ry + wall, rx + wall, p["angle"])
    img[myo] = p["myo"]
    cavity = _ellipse(yy, xx, cy, cx, ry, rx, p["angle"])
    img[cavity] = p["blood"]
    papillary = _ellipse(yy, xx, cy + 0.5 * ry, cx + 0.3 * rx, 0.18 * r, 0.18 * r, 0.0)  # dark muscle in the pool
    img[papillary & cavity] = 0.5 * (p["blood"] + p["myo"])

    img = gaussian_filter(img, sigma=p["blur"])
    img += rng.normal(0.0, p["noise"], size=img.shape).astype(np.float32)
    return (img * 1000.0).astype(np.float32), cavity.astype(np.int64)


def _patient(rng: np.random.Generator, size: int) -> dict[str, float]:
    """Per-patient anatomy and scanner settings."""
    return {
        "cy": size / 2 + rng.uniform(-0.12, 0.12) * size,
        "cx": size / 2 + rng.uniform(-0.12, 0.12) * size,
        "r0": rng.uniform(0.10, 0.20) * size,
        "wall": rng.uniform(0.05, 0.08) * size,
        "ecc": rng.uniform(0.85, 1.18),
        "angle": rng.uniform(0, np.pi),
        "body_angle": rng.uniform(-0.3, 0.3),
        "blood": rng.uniform(0.7, 1.0),
        "myo": rng.uniform(0.15, 0.32),
        "tissue": rng.uniform(0.35, 0.55),
        "air": rng.uniform(0.0, 0.08),
        "rv_scale": rng.uniform(0.8, 1.2),
        "rv_gain": rng.uniform(0.75, 1.0),
        "noise": rng.uniform(0.03, 0.10),
        "blur": rng.uniform(0.3, 1.2) * size / 64,
    }


@SOURCES.register("demo")
def demo_source(cfg: DataConfig, problems: Problems) -> Iterator[Record]:
    """Yield ``n_patients x slices_per_patient`` synthetic slices, grouped by patient."""
    demo = cfg.demo
    log.info(
        "data.source=demo: generating SYNTHETIC cardiac-MRI look-alike images (%d patients x %d slices, %d px); "
        "not real patient data",
        demo.n_patients, demo.slices_per_patient, demo.size,
    )
    for p in range(demo.n_patients):
        rng = np.random.default_rng([DEMO_SEED, p])
        patient = _patient(rng, demo.size)
        for s in range(demo.slices_per_patient):
            depth = s / max(demo.slices_per_patient - 1, 1)
            image, mask = _slice(rng, patient, depth, demo.size)
            label = int(float(mask.mean()) > LARGE_AREA)
            yield Record(
                id=f"demo-p{p:03d}-s{s:02d}",
                image=image[None],
                target=mask,
                group=f"demo-p{p:03d}",
                source=f"demo://patient{p:03d}/slice{s:02d}",
                meta={"synthetic": True, "label": label, "class_name": CLASS_NAMES[label]},
            )


demo_source.needs_path = False  # type: ignore[attr-defined]  # it makes its images: no data.path (DataConfig)
