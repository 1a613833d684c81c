"""Data layer: sources -> validated records -> memory-mapped cache -> grouped splits -> torch datasets.

Example:
    >>> from automl_al.config import Config
    >>> from automl_al.data import prepare_data
    >>> prepared = prepare_data(Config(run_dir="runs/demo"), progress=False)  # doctest: +SKIP
    >>> image, mask = prepared.dataset(prepared.splits["val"])[0]  # doctest: +SKIP
"""

from automl_al.data.cache import prepare_data
from automl_al.data.fingerprint import fingerprint
from automl_al.data.layout import detect_layout, format_summary, summarize
from automl_al.data.prepared import PreparedData
from automl_al.data.problems import Problems
from automl_al.data.records import BadFileError, DataError, Decoded, Record
from automl_al.data.sources import SOURCES
from automl_al.data.splits import make_splits
from automl_al.data.transforms import build_transforms

__all__ = [
    "SOURCES",
    "BadFileError",
    "DataError",
    "Decoded",
    "PreparedData",
    "Problems",
    "Record",
    "build_transforms",
    "detect_layout",
    "fingerprint",
    "format_summary",
    "make_splits",
    "prepare_data",
    "summarize",
]
