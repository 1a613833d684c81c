"""``folder``: a human labels the queried images between two runs of the same command.

At query time the oracle writes ``<run_dir>/queries/phase_NN/``: one PNG per image (windowed to
uint8, named ``<safe id>.png``) and ``queries.csv`` (id, score, file, source path), then raises
:class:`WaitingForLabels`. The user saves masks with the same file names into ``<run_dir>/labels/``
(classification: rows ``id,label`` in ``<run_dir>/labels/labels.csv``) and runs the command again;
the oracle validates every file (shape, values, exactly the queried ids) and returns the labels,
or waits again naming each missing or bad one.

Pool images that already had a label when the data was prepared are *given*: up to
``active.initial`` of them start the labeled set (phase 0) without a query. Every later query goes
to the human, so a pool that came fully labeled (the demo) still exercises the round trip.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from automl_al.active.crash import crash_point
from automl_al.active.labels import safe_name
from automl_al.active.oracles.base import Oracle, WaitingForLabels
from automl_al.active.oracles.masks import MaskError, read_mask, window_to_uint8, write_png
from automl_al.config import Task
from automl_al.utils import atomic_write_text

if TYPE_CHECKING:
    from automl_al.data import PreparedData

QUERIES_CSV = "queries.csv"
CLASS_LABELS_CSV = "labels.csv"


def query_dir_for(run_dir: Path, phase: int) -> Path:
    return Path(run_dir) / "queries" / f"phase_{phase:02d}"


class FolderOracle(Oracle):
    name = "folder"

    def __init__(
        self,
        prepared: PreparedData,
        run_dir: Path,
        *,
        task: Task,
        classes: int,
        class_names: Sequence[str] | None = None,
    ) -> None:
        self._prepared = prepared
        self.run_dir = Path(run_dir)
        self.labels_dir = self.run_dir / "labels"
        self.task = task
        self.classes = classes
        self.class_names = list(class_names or [])

    def given_ids(self) -> list[str]:
        pool = set(self._prepared.splits["pool"])
        return [i for i in self._prepared.labeled_ids() if i in pool]

    def request(self, phase: int, ids: Sequence[str], scores: Sequence[float | None]) -> dict[str, np.ndarray]:
        given = set(self.given_ids()) if phase == 0 else set()
        known = [i for i in ids if i in given]
        labels: dict[str, np.ndarray] = {}
        if known:
            labels = {i: np.asarray(t) for i, t in zip(known, self._prepared.targets_for(known), strict=True)}
        ask = [(i, s) for i, s in zip(ids, scores, strict=True) if i not in given]
        if not ask:
            return labels
        query_dir = self._write_queries(phase, [i for i, _ in ask], [s for _, s in ask])
        self.labels_dir.mkdir(parents=True, exist_ok=True)
        if self.task == "segmentation":
            answers, problems = self._collect_masks([i for i, _ in ask])
        else:
            answers, problems = self._collect_classes([i for i, _ in ask])
        if problems:
            raise WaitingForLabels(phase, query_dir, self.labels_dir, problems)
        return {**labels, **answers}

    def _write_queries(self, phase: int, ids: list[str], scores: list[float | None]) -> Path:
        """Write the query folder once; ``queries.csv`` is written last, so it marks completion."""
        query_dir = query_dir_for(self.run_dir, phase)
        if (query_dir / QUERIES_CSV).is_file():
            return query_dir
        images = self._prepared.dataset(ids, augment=False, with_target=False)
        rows = []
        for k, (sample_id, score) in enumerate(zip(ids, scores, strict=True)):
            file = f"{safe_name(sample_id)}.png"
            write_png(query_dir / file, window_to_uint8(np.asarray(images[k][0])))
            crash_point(f"query-png:{phase}:{k}")
            source = self._prepared.sources[self._prepared.index_of(sample_id)]
            rows.append({"id": sample_id, "score": "" if score is None else score, "file": file, "source": source})
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["id", "score", "file", "source"])
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(query_dir / QUERIES_CSV, buffer.getvalue())
        return query_dir

    def _queried_files(self) -> set[str]:
        """Every file name this oracle has ever asked for, over all phases."""
        names: set[str] = set()
        for table in sorted((self.run_dir / "queries").glob(f"phase_*/{QUERIES_CSV}")):
            with table.open(newline="") as f:
                names.update(row["file"] for row in csv.DictReader(f))
        return names

    def _collect_masks(self, ids: list[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        shape = tuple(np.asarray(self._prepared.dataset(ids[:1], augment=False, with_target=False)[0][0]).shape[-2:])
        answers: dict[str, np.ndarray] = {}
        problems: dict[str, str] = {}
        for sample_id in ids:
            path = self.labels_dir / f"{safe_name(sample_id)}.png"
            if not path.is_file():
                problems[sample_id] = f"missing: save its mask as {path}"
                continue
            try:
                answers[sample_id] = read_mask(path, shape, self.classes)  # type: ignore[arg-type]
            except MaskError as e:
                problems[sample_id] = f"{path.name} {e}"
        asked = self._queried_files()
        for stray in sorted(p.name for p in self.labels_dir.glob("*.png") if p.name not in asked):
            problems[stray] = "not a queried image (no query PNG has this name); rename or remove it"
        return answers, problems

    def _class_index(self, raw: str) -> int | None:
        raw = raw.strip()
        if raw in self.class_names:
            return self.class_names.index(raw)
        if raw.lstrip("-").isdigit() and 0 <= int(raw) < self.classes:
            return int(raw)
        return None

    def _collect_classes(self, ids: list[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        table = self.labels_dir / CLASS_LABELS_CSV
        rows: dict[str, str] = {}
        if table.is_file():
            with table.open(newline="") as f:
                rows = {r.get("id", ""): r.get("label", "") or "" for r in csv.DictReader(f)}
        answers: dict[str, np.ndarray] = {}
        problems: dict[str, str] = {}
        for sample_id in ids:
            if sample_id not in rows:
                problems[sample_id] = f"missing: add a row '{sample_id},<label>' to {table}"
                continue
            label = self._class_index(rows[sample_id])
            if label is None:
                valid = ", ".join(self.class_names) or f"0..{self.classes - 1}"
                problems[sample_id] = f"label {rows[sample_id]!r} is not a class; use one of {valid}"
            else:
                answers[sample_id] = np.asarray(label, dtype=np.int64)
        return answers, problems
