"""Contract tests over every registered acquisition, and the behaviour of random / fg_random.

Every test that is not about one named function runs over ``available_acquisitions()``, so a new
acquisition is checked by registering it: no list here names it.
"""

from __future__ import annotations

import pytest
import torch

from automl_al.active.acquisition import (
    Acquisition,
    available_acquisitions,
    create_acquisition,
    get_reduction,
    register_acquisition,
)
from automl_al.active.acquisition.registry import ACQUISITIONS, POWER_PREFIX
from automl_al.config import ActiveConfig

NAMES = available_acquisitions()
# Entries whose scores are uncertainties >= 0 (they declare power_variant): higher = more uncertain.
UNCERTAINTIES = [n for n in NAMES if getattr(ACQUISITIONS.get(n), "power_variant", False)]
SHAPES = {"segmentation": (3, 4, 3, 8, 8), "classification": (3, 4, 3)}
N = 4


def _probs(task: str, seed: int = 0) -> torch.Tensor:
    logits = torch.randn(*SHAPES[task], generator=torch.Generator().manual_seed(seed))
    return logits.softmax(dim=2)


@pytest.mark.parametrize("name", NAMES)
def test_power_variants_come_from_the_entries_that_declare_them(name: str) -> None:
    base = ACQUISITIONS.base_of(name)
    if base is None:  # an entry: it has a power variant exactly when it declares one
        assert (POWER_PREFIX + name in NAMES) == (name in UNCERTAINTIES)
    else:  # a variant: power sampling over its entry, needing MC samples when the entry does
        assert name == POWER_PREFIX + base and base in UNCERTAINTIES
        power, plain = create_acquisition(name, seed=0), create_acquisition(base, seed=0)
        assert power.needs_mc == plain.needs_mc and power.ranks_only and not plain.ranks_only


@pytest.mark.parametrize("reduction", ["mean", "sum", "fg_weighted"])
@pytest.mark.parametrize("task", sorted(SHAPES))
@pytest.mark.parametrize("name", NAMES)
def test_contract(name: str, task: str, reduction: str) -> None:
    probs = _probs(task)
    scores = create_acquisition(name, seed=7)(probs, get_reduction(reduction))
    again = create_acquisition(name, seed=7)(probs, get_reduction(reduction))
    assert scores.shape == (N,)
    assert scores.dtype == torch.float32
    assert torch.isfinite(scores).all()
    assert torch.equal(scores, again)  # deterministic given the seed


@pytest.mark.parametrize("name", NAMES)
def test_float64_in_float64_out(name: str) -> None:
    assert create_acquisition(name, seed=0)(_probs("segmentation").double()).dtype == torch.float64


@pytest.mark.parametrize("name", NAMES)
def test_single_pass_allowed_only_when_mc_is_not_needed(name: str) -> None:
    acq = create_acquisition(name, seed=0)
    one_pass = _probs("segmentation")[:1]
    if acq.needs_mc:
        with pytest.raises(ValueError, match=rf"'{name}' needs MC samples \(T >= 2\).*T=1"):
            acq(one_pass)
    else:
        assert acq(one_pass).shape == (N,)


@pytest.mark.parametrize("name", NAMES)
def test_every_name_is_a_valid_config_value(name: str) -> None:
    assert ActiveConfig(acquisition=name).acquisition == name


@pytest.mark.parametrize("reduction", ["mean", "sum", "fg_weighted"])
@pytest.mark.parametrize("name", UNCERTAINTIES)
def test_uncertain_images_score_higher_than_confident_ones(name: str, reduction: str) -> None:
    # image 0: two MC samples, each unsure (0.7 / 0.3) and disagreeing; image 1: both sure of class 0
    probs = torch.zeros(2, 2, 2, 4, 4, dtype=torch.float64)
    probs[0, 0, 0], probs[0, 0, 1] = 0.7, 0.3
    probs[1, 0, 0], probs[1, 0, 1] = 0.3, 0.7
    probs[:, 1, 0] = 1.0
    scores = create_acquisition(name, seed=0)(probs, get_reduction(reduction))
    assert scores[0] > scores[1] >= 0


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown acquisition 'bald'.*active\.acquisition.*cfe, entropy"):
        create_acquisition("bald", seed=0)


def test_duplicate_registration_is_an_error() -> None:
    with pytest.raises(ValueError, match="'mfe' is already registered"):
        register_acquisition("mfe", lambda seed: create_acquisition("cfe", seed=seed))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "fg_weighted"])
def test_nan_probabilities_give_nan_scores_not_hidden_zeros(name: str, reduction: str) -> None:
    """A broken image scores NaN (the selection refuses it), unless the acquisition never reads the
    probabilities (``random``): then its score is what any probabilities would give."""
    probs = _probs("segmentation")
    probs[1, 2, :, 3, 3] = float("nan")  # one broken pixel of image 2 in one MC sample
    scores = create_acquisition(name, seed=0)(probs, get_reduction(reduction))
    assert scores[[0, 1, 3]].isfinite().all()  # the other images are not touched
    other = _probs("segmentation", seed=1)
    other[:, 2] = 1.0 / other.shape[2]  # image 2 uniform instead: a different prediction
    reads_probs = not torch.equal(create_acquisition(name, seed=0)(_probs("segmentation"), get_reduction(reduction))[2],
                                  create_acquisition(name, seed=0)(other, get_reduction(reduction))[2])
    assert scores[2].isnan().item() == reads_probs


def test_heuristic_scores_are_reduced_maps() -> None:
    # mfe on the mean prob (0.6, 0.4) at one pixel and (1, 0) at the other: mean (0.6730 + 0) / 2.
    probs = torch.zeros(2, 1, 2, 1, 2, dtype=torch.float64)
    probs[:, 0, :, 0, 0] = torch.tensor([[0.8, 0.2], [0.4, 0.6]], dtype=torch.float64)
    probs[:, 0, 0, 0, 1] = 1.0
    score = create_acquisition("mfe", seed=0)(probs, get_reduction("mean"))
    assert score.item() == pytest.approx(0.673012 / 2, abs=1e-6)


def test_random_ignores_the_probabilities_and_depends_on_the_seed() -> None:
    a = create_acquisition("random", seed=3)(_probs("classification", seed=1))
    b = create_acquisition("random", seed=3)(_probs("classification", seed=2))
    c = create_acquisition("random", seed=4)(_probs("classification", seed=1))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert ((a >= 0) & (a < 1)).all()


def _fg_probs(has_fg: list[bool]) -> torch.Tensor:
    """T=2, C=2, 4x4: images with foreground get one pixel where class 1 wins on the mean."""
    probs = torch.zeros(2, len(has_fg), 2, 4, 4)
    probs[:, :, 0] = 0.9
    probs[:, :, 1] = 0.1
    for i, fg in enumerate(has_fg):
        if fg:
            probs[:, i, :, 2, 3] = torch.tensor([0.3, 0.7])
    return probs


@pytest.mark.parametrize("seed", range(5))
def test_fg_random_puts_foreground_images_first(seed: int) -> None:
    has_fg = [False, True, False, True, False, False]
    scores = create_acquisition("fg_random", seed=seed)(_fg_probs(has_fg))
    top2 = set(scores.topk(2).indices.tolist())
    assert top2 == {1, 3}
    # and falls back to the others, still random and finite, when K is larger
    assert torch.isfinite(scores).all()
    assert (scores[[0, 2, 4, 5]] < 1).all() and (scores[[1, 3]] >= 1).all()


def test_fg_random_on_one_deterministic_pass() -> None:
    scores = create_acquisition("fg_random", seed=0)(_fg_probs([True, False])[:1])
    assert scores[0] > scores[1]


class _Darkest(Acquisition):
    """A new acquisition as a user writes one: mean background probability, an uncertainty >= 0."""

    name = "test_darkest_bg"
    needs_mc = False
    power_variant = True

    def score(self, probs, reduction):
        return probs[0, :, 0].reshape(probs.shape[1], -1).mean(dim=1)


def test_custom_acquisition_can_be_registered_and_named_in_the_config() -> None:
    with ACQUISITIONS.scoped():
        register_acquisition(_Darkest.name, _Darkest)
        probs = _fg_probs([True, False])
        assert create_acquisition("test_darkest_bg", seed=0)(probs).shape == (2,)
        # its power variant comes with it, and the config takes both
        assert create_acquisition("power_test_darkest_bg", seed=0)(probs).shape == (2,)
        assert ActiveConfig(acquisition="power_test_darkest_bg").acquisition == "power_test_darkest_bg"
    assert "test_darkest_bg" not in available_acquisitions()  # gone after the block
    assert "power_test_darkest_bg" not in available_acquisitions()


def test_a_plain_factory_can_be_registered_without_a_power_variant() -> None:
    with ACQUISITIONS.temporarily("test_darkest_factory", lambda seed: _Darkest(seed)):
        assert create_acquisition("test_darkest_factory", seed=0).name == "test_darkest_bg"
        assert "power_test_darkest_factory" not in ACQUISITIONS
