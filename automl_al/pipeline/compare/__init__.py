"""``compare``: S1's study of acquisition functions x seeds against the full-data model.

Public API: :func:`run_compare`, :func:`check_compare_args`, :class:`CompareResult`. The parts:
``arms`` (what an arm sets, argument checks), ``study`` (the orchestration), ``stats`` (the
figures, pure functions) and ``output`` (files and logged metrics).
"""

from automl_al.pipeline.compare.arms import (
    ARM_OPTIONS,
    arm_config,
    arm_settings,
    check_compare_args,
    default_metric,
)
from automl_al.pipeline.compare.stats import TARGETS, CompareResult
from automl_al.pipeline.compare.study import run_compare

__all__ = [
    "ARM_OPTIONS",
    "TARGETS",
    "CompareResult",
    "arm_config",
    "arm_settings",
    "check_compare_args",
    "default_metric",
    "run_compare",
]
