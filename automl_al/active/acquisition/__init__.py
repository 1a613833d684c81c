"""Acquisition math: MC probabilities ``[T, N, C, *S]`` -> per-pixel maps ``[N, *S]`` -> scores ``[N]``."""

from automl_al.active.acquisition.heuristics import Acquisition
from automl_al.active.acquisition.reductions import Reduction, get_reduction
from automl_al.active.acquisition.registry import (
    available_acquisitions,
    create_acquisition,
    register_acquisition,
)

__all__ = [
    "Acquisition",
    "Reduction",
    "available_acquisitions",
    "create_acquisition",
    "get_reduction",
    "register_acquisition",
]
