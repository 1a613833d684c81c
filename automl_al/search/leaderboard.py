"""What a user reads: one line per finished trial while the search runs, a ranked table at the end
(printed, and saved as CSV in the run directory)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl_al.utils import atomic_write_text

_ORDER = {TrialState.COMPLETE: 0, TrialState.PRUNED: 1, TrialState.FAIL: 2, TrialState.RUNNING: 3, TrialState.WAITING: 4}
FIXED_COLUMNS = ("rank", "trial", "state", "value", "epochs", "seconds")
TAIL_COLUMNS = ("fail_kind", "fail_reason", "retry_of", "repeat_of", "retrain_of", "worker")


def _last_value(t: FrozenTrial) -> float:
    return t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else -math.inf


def _sort_key(t: FrozenTrial) -> tuple[int, float, int]:
    score = t.value if t.state == TrialState.COMPLETE and t.value is not None else _last_value(t)
    return (_ORDER.get(t.state, 5), -score, t.number)


def trial_config(t: FrozenTrial) -> dict[str, Any]:
    """The dotted config values the trial trained with (recorded by the objective)."""
    return dict(t.user_attrs.get("config", {}))


def leaderboard_rows(trials: list[FrozenTrial]) -> list[dict[str, Any]]:
    """Complete trials by score (ranked), then pruned (by their last score), failed, unfinished."""
    rows = []
    rank = 0
    for t in sorted(trials, key=_sort_key):
        if t.state == TrialState.COMPLETE:
            rank += 1
        duration = t.duration.total_seconds() if t.duration is not None else None
        row: dict[str, Any] = {
            "rank": rank if t.state == TrialState.COMPLETE else "",
            "trial": t.number,
            "state": t.state.name.lower(),
            "value": t.value if t.state == TrialState.COMPLETE else None,
            "epochs": len(t.intermediate_values),
            "seconds": round(duration, 1) if duration is not None else None,
        }
        row.update(trial_config(t))
        row.update({k: t.user_attrs.get(k, "") for k in TAIL_COLUMNS})
        rows.append(row)
    return rows


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    params = sorted({k for r in rows for k in r} - set(FIXED_COLUMNS) - set(TAIL_COLUMNS))
    return [*FIXED_COLUMNS, *params, *TAIL_COLUMNS]


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def to_csv(rows: list[dict[str, Any]], path: Any) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_columns(rows), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def format_table(rows: list[dict[str, Any]], limit: int = 20) -> str:
    """A plain-text table of the first ``limit`` rows; long failure reasons are cut."""
    cols = [c for c in _columns(rows) if c not in ("retry_of", "worker")]
    cells = [[_cell(r.get(c))[:40] for c in cols] for r in rows[:limit]]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more rows in the CSV")
    return "\n".join(line.rstrip() for line in lines)


def _params_text(config: dict[str, Any]) -> str:
    return " ".join(f"{k}={_cell(v)}" for k, v in config.items() if k != "train.epochs")


def progress_line(study: optuna.Study, t: FrozenTrial, monitor: str) -> str:
    """``trial 3 complete val_iou=0.61 best=0.64 (#1) 3 epochs 12.4s | model.arch=Unet ...``."""
    parts = [f"trial {t.number:>3}", t.state.name.lower()]
    if t.state == TrialState.COMPLETE and t.value is not None:
        parts.append(f"{monitor}={t.value:.4f}")
    elif t.state == TrialState.PRUNED and t.intermediate_values:
        parts.append(f"{monitor}={_last_value(t):.4f}")
    elif t.state == TrialState.FAIL:
        parts.append(f"[{t.user_attrs.get('fail_kind', 'error')}] {t.user_attrs.get('fail_reason', '')[:120]}")
    try:
        best = study.best_trial
        parts.append(f"best={best.value:.4f} (#{best.number})")
    except ValueError:
        parts.append("best=none yet")
    if "repeat_of" in t.user_attrs:
        parts.append(f"(repeat of #{t.user_attrs['repeat_of']}, not trained again)")
    if "retrain_of" in t.user_attrs:
        parts.append(f"(trained again: #{t.user_attrs['retrain_of']} was pruned earlier than this trial's rungs prune)")
    duration = t.duration.total_seconds() if t.duration is not None else 0.0
    parts.append(f"{len(t.intermediate_values)} epochs {duration:.1f}s")
    return "  ".join(parts) + " | " + _params_text(trial_config(t))


def progress_callback(monitor: str, emit: Callable[[str], None] = print) -> Callable[[optuna.Study, FrozenTrial], None]:
    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        emit(progress_line(study, trial, monitor))

    return callback
