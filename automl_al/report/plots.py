"""The report's figures, each returned as PNG bytes (Agg backend: no display needed)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from automl_al.report.data import Row, SampleSet

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    # A bare Figure (not pyplot) keeps no global state and needs no GUI backend.
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _finite(value: object) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def leaderboard_plot(rows: Sequence[Row], score_name: str = "score") -> bytes:
    """Score of every finished trial in trial order, the best one highlighted."""
    fig = _figure(7, 3.2)
    ax = fig.add_subplot()
    points = [(r.get("trial", i), _finite(r.get("score"))) for i, r in enumerate(rows)]
    points = [(t, s) for t, s in points if s is not None]
    if points:
        trials, scores = zip(*points)
        best = int(np.argmax(scores))
        colors = ["#d62728" if i == best else "#1f77b4" for i in range(len(scores))]
        ax.bar([str(t) for t in trials], scores, color=colors)
        ax.set_ylim(0, max(1.0, max(scores) * 1.05))
    else:
        ax.text(0.5, 0.5, "no finished trials", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("trial")
    ax.set_ylabel(score_name)
    ax.set_title("Architecture search: score per trial (best in red)")
    return _png(fig)


def class_metrics_plot(class_metrics: dict[str, dict[str, float]]) -> bytes:
    """Grouped bars: one group per class, one bar per metric."""
    fig = _figure(7, 3.2)
    ax = fig.add_subplot()
    classes = list(class_metrics)
    metrics = sorted({m for v in class_metrics.values() for m in v})
    width = 0.8 / max(len(metrics), 1)
    for j, m in enumerate(metrics):
        values = [_finite(class_metrics[c].get(m)) or 0.0 for c in classes]
        ax.bar(np.arange(len(classes)) + j * width, values, width=width, label=m)
    ax.set_xticks(np.arange(len(classes)) + width * (len(metrics) - 1) / 2, classes)
    ax.set_ylim(0, 1.05)
    if metrics:
        ax.legend()
    ax.set_title("Final model: test metrics per class")
    return _png(fig)


def samples_plot(samples: SampleSet, class_names: Sequence[str] | None = None) -> bytes:
    """One row per image: the image, the prediction over it, and (segmentation) the uncertainty map."""
    seg = samples.predictions.ndim == 3
    cols = 3 if seg and samples.uncertainty is not None else 2 if seg else 1
    k = len(samples.ids)
    fig = _figure(2.6 * cols + 0.6, 2.4 * max(k, 1))
    axes = fig.subplots(max(k, 1), cols, squeeze=False)
    for i in range(k):
        label = f"{samples.kinds[i]} uncertain\n{samples.ids[i]}\n{samples.method}={samples.scores[i]:.3g}"
        image = samples.images[i]
        axes[i][0].imshow(image, cmap="gray")
        if seg:
            axes[i][0].set_title(label, fontsize=7)
            axes[i][1].imshow(image, cmap="gray")
            pred = np.ma.masked_equal(samples.predictions[i], 0)
            axes[i][1].imshow(pred, cmap="autumn", alpha=0.5, interpolation="nearest")
            axes[i][1].set_title("prediction", fontsize=8)
            if cols == 3:
                im = axes[i][2].imshow(samples.uncertainty[i], cmap="magma")  # type: ignore[index]
                axes[i][2].set_title("uncertainty", fontsize=8)
                fig.colorbar(im, ax=axes[i][2], shrink=0.8)
        else:
            cls = int(samples.predictions[i])
            name = class_names[cls] if class_names and cls < len(class_names) else str(cls)
            axes[i][0].set_title(f"{label}\npredicted: {name}", fontsize=7)
        for ax in axes[i]:
            ax.set_axis_off()
    return _png(fig)
