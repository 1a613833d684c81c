"""One self-contained HTML page: inline CSS, every figure embedded as a base64 PNG, no scripts,
no external assets, so the file can be mailed or archived and still open offline."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from datetime import datetime, timezone

from automl_al.active.curves import curves_png
from automl_al.report import plots
from automl_al.report.data import ReportData, Row

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: right; }
th { background: #f3f3f3; } td.text { text-align: left; }
tr.best td { background: #fff3cd; }
img { max-width: 100%; display: block; margin: .5rem 0; }
.empty { color: #888; font-style: italic; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; font-family: monospace; }
"""


def _cell(value: object) -> str:
    if isinstance(value, float):
        text = "" if math.isnan(value) else f"{value:.4g}"
        return f"<td>{text}</td>"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"<td>{value}</td>"
    return f'<td class="text">{html.escape("" if value is None else str(value))}</td>'


def table(rows: Sequence[Row], *, table_id: str, highlight: int | None = None) -> str:
    """Rows of dicts as an HTML table; columns in first-seen order across all rows."""
    if not rows:
        return '<p class="empty">nothing recorded</p>'
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for i, row in enumerate(rows):
        cls = ' class="best"' if i == highlight else ""
        body.append(f"<tr{cls}>" + "".join(_cell(row.get(c)) for c in columns) + "</tr>")
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def image_tag(png: bytes, *, image_id: str, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img id="{image_id}" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _best_index(rows: Sequence[Row]) -> int | None:
    scored = [(float(r["score"]), i) for i, r in enumerate(rows) if isinstance(r.get("score"), (int, float))]
    scored = [(s, i) for s, i in scored if math.isfinite(s)]
    return max(scored)[1] if scored else None


def make_figures(data: ReportData, class_names: Sequence[str] | None = None) -> dict[str, bytes]:
    """The page's figures by file stem; only those with something to show."""
    figures: dict[str, bytes] = {}
    if data.leaderboard:
        figures["leaderboard"] = plots.leaderboard_plot(data.leaderboard, data.score_name)
    if data.curves:
        figures["learning_curve"] = curves_png(
            data.curves, data.curve_metric, title="Active learning: learning curve per acquisition function"
        )
    if data.samples is not None and data.samples.ids:
        figures["samples"] = plots.samples_plot(data.samples, class_names)
    if data.class_metrics:
        figures["class_metrics"] = plots.class_metrics_plot(data.class_metrics)
    return figures


def _section(section_id: str, title: str, *parts: str) -> str:
    body = "".join(parts) or '<p class="empty">this stage did not run</p>'
    return f'<section id="{section_id}"><h2>{html.escape(title)}</h2>{body}</section>'


def _figure(figures: dict[str, bytes], name: str, alt: str) -> str:
    return image_tag(figures[name], image_id=f"{name.replace('_', '-')}-plot", alt=alt) if name in figures else ""


def render_html(data: ReportData, figures: dict[str, bytes]) -> str:
    """The whole page; ``figures`` from :func:`make_figures`."""
    facts = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in data.facts.items()
    )
    class_rows = [{"class": c, **m} for c, m in data.class_metrics.items()]
    overall = [{"metric": k, "value": v} for k, v in sorted(data.test_metrics.items())]
    sample_note = ""
    if data.samples is not None and data.samples.ids:
        sample_note = (
            f"<p>Uncertainty: {html.escape(data.samples.method)}; the most and least uncertain test "
            "images by the final model.</p>"
        )
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        _section(
            "leaderboard",
            "Search leaderboard",
            _figure(figures, "leaderboard", "score per search trial"),
            table(data.leaderboard, table_id="leaderboard-table", highlight=_best_index(data.leaderboard))
            if data.leaderboard
            else "",
        ),
        _section(
            "learning-curve",
            "Learning curve per acquisition function",
            _figure(figures, "learning_curve", f"{data.curve_metric} against the labeled fraction of the pool"),
        ),
        _section("phases", "Active-learning phases", table(data.phases, table_id="phases-table") if data.phases else ""),
        _section("samples", "Sample predictions and uncertainty", sample_note, _figure(figures, "samples", "sample predictions")),
        _section(
            "final",
            "Final model: test metrics",
            table(overall, table_id="test-metrics-table") if overall else "",
            _figure(figures, "class_metrics", "test metrics per class"),
            table(class_rows, table_id="class-metrics-table") if class_rows else "",
        ),
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(data.title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(data.title)}</h1><p>{data.task}; generated {stamp}</p>"
        f'<dl class="facts">{facts}</dl>' + "".join(sections) + "</body></html>\n"
    )
