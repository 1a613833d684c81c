"""The report page: rendered from plain tables, self-contained, and really drawn by a browser."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from automl_al.report import ReportData, SampleSet, write_report
from automl_al.report.html import table

LEADERBOARD = [
    {"trial": 0, "arch": "Unet", "lr": 1e-3, "score": 0.50, "duration_s": 3.2, "state": "COMPLETE"},
    {"trial": 1, "arch": "FPN", "lr": 1e-4, "score": 0.70, "duration_s": 3.0, "state": "COMPLETE"},
    {"trial": 2, "arch": "FPN", "lr": 1e-5, "score": None, "duration_s": 1.0, "state": "PRUNED"},
]
CURVES = {
    "mfe": [[{"labeled_fraction": 0.1, "test_iou": 0.3}, {"labeled_fraction": 0.2, "test_iou": 0.5}]],
    "random": [[{"labeled_fraction": 0.1, "test_iou": 0.3}, {"labeled_fraction": 0.2, "test_iou": 0.4}]],
}
# matplotlib's default colours: the best trial's bar (red) and the second curve (orange).
RED, ORANGE = (0xD6, 0x27, 0x28), (0xFF, 0x7F, 0x0E)


def _samples(k: int = 2, size: int = 16) -> SampleSet:
    rng = np.random.default_rng(0)
    return SampleSet(
        ids=[f"img{i}" for i in range(k)],
        images=rng.random((k, size, size)),
        predictions=(rng.random((k, size, size)) > 0.5).astype(np.int64),
        scores=np.linspace(0.5, 0.1, k),
        kinds=["most", "least"][:k],
        uncertainty=rng.random((k, size, size)),
    )


def _full_report() -> ReportData:
    return ReportData(
        title="demo <run>",
        leaderboard=LEADERBOARD,
        curves=CURVES,
        phases=[{"phase": 0, "labeled": 10, "test_iou": 0.3}, {"phase": 1, "labeled": 20, "test_iou": 0.5}],
        samples=_samples(),
        class_metrics={"background": {"iou": 0.9, "dice": 0.95}, "lv": {"iou": 0.5, "dice": 0.6}},
        test_metrics={"iou": 0.5, "dice": 0.6},
        facts={"run dir": "runs/x"},
    )


def _embedded_pngs(page: str) -> dict[str, Image.Image]:
    found = re.findall(r'<img id="([^"]+)" alt="[^"]*" src="data:image/png;base64,([^"]+)"', page)
    return {image_id: Image.open(io.BytesIO(base64.b64decode(data))) for image_id, data in found}


def test_page_is_self_contained_and_embeds_every_figure(tmp_path: Path) -> None:
    page_path = write_report(_full_report(), tmp_path)
    page = page_path.read_text()
    assert "<script" not in page and "<link" not in page
    assert not re.search(r'(src|href)="(?!data:)', page), "no external asset may be referenced"
    images = _embedded_pngs(page)
    assert set(images) == {"leaderboard-plot", "learning-curve-plot", "samples-plot", "class-metrics-plot"}
    for image in images.values():
        assert image.format == "PNG" and image.width > 200 and image.height > 100
    # The same figures are written beside the page (these are what MLflow receives).
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "class_metrics.png", "leaderboard.png", "learning_curve.png", "samples.png"
    ]
    assert "demo &lt;run&gt;" in page  # titles are escaped
    best_rows = re.findall(r'<tr class="best">(.*?)</tr>', page)
    assert len(best_rows) == 1 and "<td>1</td>" in best_rows[0]  # trial 1 scored 0.7


def test_leaderboard_table_highlights_the_best_trial_and_keeps_every_row() -> None:
    html_table = table(LEADERBOARD, table_id="t", highlight=1)
    rows = re.findall(r"<tr( class=\"best\")?>(.*?)</tr>", html_table)
    assert len(rows) == 1 + 3  # header + trials
    best = [cells for mark, cells in rows if mark]
    assert len(best) == 1 and "<td>0.7</td>" in best[0] and "FPN" in best[0]
    # The pruned trial has no score: an empty cell, not "None" or "nan".
    assert "None" not in html_table and "nan" not in html_table


def test_missing_stages_say_so_instead_of_failing(tmp_path: Path) -> None:
    page = write_report(ReportData(title="search only", leaderboard=LEADERBOARD), tmp_path).read_text()
    assert set(_embedded_pngs(page)) == {"leaderboard-plot"}
    assert page.count("this stage did not run") == 4


def test_a_folder_where_no_stage_ran_is_refused_and_left_untouched(tmp_path: Path, capsys) -> None:
    from automl_al.cli import main

    (tmp_path / "notes.txt").write_text("not a run")
    assert main(["report", str(tmp_path)]) == 2
    assert f"{tmp_path}: nothing to report: no pipeline.json" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # no report/ written into it


def test_figures_go_to_the_tracker(tmp_path: Path) -> None:
    logged: list[tuple[str, str | None]] = []

    class Recorder:
        def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
            logged.append((Path(path).name, artifact_path))

    write_report(_full_report(), tmp_path, tracker=Recorder())  # type: ignore[arg-type]
    assert sorted(logged) == sorted(
        (n, "report") for n in ("leaderboard.png", "learning_curve.png", "samples.png", "class_metrics.png", "report.html")
    )


def test_sample_set_rejects_mismatched_lengths() -> None:
    s = _samples()
    with pytest.raises(ValueError, match="kinds has 1 items"):
        SampleSet(ids=s.ids, images=s.images, predictions=s.predictions, scores=s.scores, kinds=["most"])


# --- a real browser -------------------------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    pytest.skip("chromium is not installed (apt-get install -y chromium; .ci/run does this)")


def _has_colour(image: Image.Image, rgb: tuple[int, int, int], tol: int = 12, min_pixels: int = 30) -> bool:
    pixels = np.asarray(image.convert("RGB")).astype(int)
    close = (np.abs(pixels - np.array(rgb)) <= tol).all(axis=-1)
    return int(close.sum()) >= min_pixels


def test_chromium_renders_leaderboard_and_learning_curve(tmp_path: Path) -> None:
    browser = _chromium()
    # Only these two figures, so each test colour can come from one figure alone.
    page = write_report(ReportData(title="screenshot", leaderboard=LEADERBOARD, curves=CURVES), tmp_path / "r")
    shot = tmp_path / "shot.png"
    base = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri()],
        check=True, capture_output=True, timeout=60,
    )
    image = Image.open(shot)
    assert image.size == (1280, 2000)
    assert np.asarray(image.convert("L")).std() > 10, "the screenshot is blank"
    assert _has_colour(image, RED), "the leaderboard's best-trial bar is not on screen"
    assert _has_colour(image, ORANGE), "the learning curve's second line is not on screen"

    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert 'id="leaderboard-plot"' in dom and 'id="learning-curve-plot"' in dom
    assert len(re.findall(r"<tr", dom)) >= 4  # leaderboard header + 3 trials survived parsing
