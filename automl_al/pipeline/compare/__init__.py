"""``compare``: S1's study of acquisition functions x seeds against the full-data model.

Public API: :func:`run_compare`, :func:`check_compare_args`, :class:`CompareResult`.
"""

from automl_al.pipeline.compare.study import (
    CompareResult,
    arm_settings,
    check_compare_args,
    default_metric,
    run_compare,
)

__all__ = ["CompareResult", "arm_settings", "check_compare_args", "default_metric", "run_compare"]
