"""Architecture search: YAML search space -> Optuna study (sampler, pruner, storage) -> best config.

Public API: :func:`run_search`, :func:`load_space`, :class:`SearchSpace`, :func:`apply_params`.
"""

from automl_al.search.space import SearchSpace, SearchSpaceError, apply_params, load_space
from automl_al.search.study import SearchError, SearchResult, run_search

__all__ = ["SearchError", "SearchResult", "SearchSpace", "SearchSpaceError", "apply_params", "load_space", "run_search"]
