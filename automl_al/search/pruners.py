"""Pruners by name (``search.pruner``), fed each epoch's validation score: ``hyperband`` (default),
``asha``, ``median``, ``none``. A factory takes the epoch budget of one trial (the pruning resource).

``asha`` is Hyperband's most aggressive bracket alone. Hyperband hedges: its less aggressive brackets
let every trial they hold train longer (up to a third of the budget) before judging it, in case early
epochs mislead. Where early epochs rank configurations well, that hedge costs epochs; where the
best configuration starts slowly, ``asha`` judges it at its first epoch in every trial, and a repeat
of it meets the same rung, so it may never be found (in 4 of 30 replays of the 36-point benchmark
table, 14 of 30 of the 35-architecture one; Hyperband found it in all).
benchmarks/search_efficiency.py measures both (BENCHMARKS.md). TPE learns from every trial either
way: Optuna hands samplers a bracket's view of the study, but TPE reads it through
``Study._get_trials``, which that view does not filter."""

from __future__ import annotations

from collections.abc import Callable

import optuna

from automl_al.registries import PRUNERS

PrunerFactory = Callable[[int], optuna.pruners.BasePruner]


@PRUNERS.register("hyperband")
def hyperband(epochs: int) -> optuna.pruners.BasePruner:
    """Successive halving over brackets that first judge a trial at 1, 3, ... epochs, up to a third of
    the budget, keeping a third of the trials at each rung (rungs at 1, 3, 9, ... epochs).

    Optuna's brackets would go up to the full budget, but no trial is pruned at its last epoch
    (``repeats.prunes_at``), so a bracket that first judges there never prunes: with 9 epochs, it
    trained 3 trials in 17 in full (Optuna's shares for brackets 0, 1, 2 are 9, 5, 3). Two brackets
    instead of three was chosen on three benchmark tables, then confirmed on a held-out one by a
    rule fixed before it was replayed (BENCHMARKS.md).

    >>> pruner = hyperband(9)
    >>> pruner._max_resource, pruner._reduction_factor
    (3, 3)
    """
    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, epochs // 3), reduction_factor=3)


@PRUNERS.register("asha")
def asha(epochs: int) -> optuna.pruners.BasePruner:
    """Asynchronous successive halving: rungs at 1, 3, 9 ... epochs, each keeping the top third of
    the trials that reached it; one bracket, so no trial gets more epochs than its rungs allow."""
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)


@PRUNERS.register("median")
def median(epochs: int) -> optuna.pruners.BasePruner:
    """Stop a trial whose score is below the median of earlier trials at the same epoch
    (after 3 finished trials, and never on the first epoch, which is mostly noise)."""
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1 if epochs > 1 else 0)


@PRUNERS.register("none")
def none(epochs: int) -> optuna.pruners.BasePruner:
    """Every trial runs its full epoch budget."""
    return optuna.pruners.NopPruner()


def make_pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    return PRUNERS.get(name)(epochs)
