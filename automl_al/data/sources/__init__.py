"""Data sources, one module each, chosen by name in ``data.source``.

A source is a callable ``(cfg: DataConfig, problems: Problems) -> Iterator[Record]``: it walks its
layout, reports every unusable file through ``problems`` (which raises or skips by policy) and yields
records one at a time, so the cache can stream them to disk without holding a dataset in memory.
``data.path`` is required unless the source sets ``needs_path = False`` on itself (the demo makes
its images). A plug-in registers its own with ``SOURCES.register("name", source)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from automl_al.config import DataConfig
from automl_al.data.problems import Problems
from automl_al.data.records import Record
from automl_al.registries import SOURCES

Source = Callable[[DataConfig, Problems], Iterator[Record]]

# Built-in sources register themselves on import (explicit imports, no filesystem scan).
from automl_al.data.sources import classes, demo, dicom, folder, msd  # noqa: E402,F401

__all__ = ["SOURCES", "Source"]
