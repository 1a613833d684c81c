"""Which architecture active learning trains: the search's pick when there is one.

Rule: when ``<run_dir>/best.yaml`` exists (``automl-al search`` writes it), its ``model`` and
``train`` sections replace the config's, except ``train.epochs`` (trials are short screens);
everything else (data, active, tracking, seed, run_dir) stays as the config says. Without that file, ``cfg.model`` and ``cfg.train`` are used as given.
"""

from __future__ import annotations

from pathlib import Path

from automl_al.config import Config, ConfigError, load_config

BEST_FILE = "best.yaml"


def resolve_architecture(cfg: Config) -> tuple[Config, Path | None]:
    """``cfg`` with the search's model and train sections, and the file they came from (or None)."""
    best = Path(cfg.run_dir) / BEST_FILE
    if not best.is_file():
        return cfg, None
    try:
        found = load_config(best)
    except ConfigError as e:
        raise ConfigError(f"{e}\n(the search wrote {best}; fix it or delete it to use the config's model)") from None
    # The search trains each trial for ``search.epochs`` (a screening budget); phases and the final
    # model train for the config's own ``train.epochs``.
    train = found.train.model_copy(update={"epochs": cfg.train.epochs})
    return cfg.model_copy(update={"model": found.model, "train": train}), best


def mc_twin(cfg: Config) -> Config:
    """The MC-dropout twin's config: the same architecture with ``active.dropout`` at ``active.dropout_rate``."""
    model = cfg.model.model_copy(update={"dropout": cfg.active.dropout, "dropout_rate": cfg.active.dropout_rate})
    return cfg.model_copy(update={"model": model})
