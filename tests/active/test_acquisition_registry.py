"""Contract tests over every registered acquisition, and the behaviour of random / fg_random."""

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
from automl_al.active.acquisition.registry import ACQUISITIONS

NAMES = available_acquisitions()
SHAPES = {"segmentation": (3, 4, 3, 8, 8), "classification": (3, 4, 3)}
N = 4


def _probs(task: str, seed: int = 0) -> torch.Tensor:
    logits = torch.randn(*SHAPES[task], generator=torch.Generator().manual_seed(seed))
    return logits.softmax(dim=2)


def test_builtins_are_registered() -> None:
    assert NAMES == [
        "cfe", "entropy", "fg_random", "margin", "mfe", "mi",
        "power_cfe", "power_entropy", "power_margin", "power_mfe", "power_mi", "power_std",
        "random", "std",
    ]


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


def test_which_acquisitions_need_mc() -> None:
    needs = {name for name in NAMES if create_acquisition(name, seed=0).needs_mc}
    assert needs == {"cfe", "mfe", "mi", "std", "power_cfe", "power_mfe", "power_mi", "power_std"}


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown acquisition 'bald'.*active\.acquisition.*cfe, entropy"):
        create_acquisition("bald", seed=0)


def test_duplicate_registration_is_an_error() -> None:
    with pytest.raises(ValueError, match="'mfe' is already registered"):
        register_acquisition("mfe", lambda seed: create_acquisition("cfe", seed=seed))


@pytest.mark.parametrize("name", [p + n for n in ("mfe", "cfe", "mi", "std", "margin", "entropy") for p in ("", "power_")])
@pytest.mark.parametrize("reduction", ["mean", "sum", "fg_weighted"])
def test_nan_probabilities_give_nan_scores_not_hidden_zeros(name: str, reduction: str) -> None:
    probs = _probs("segmentation")
    probs[1, 2, :, 3, 3] = float("nan")  # one broken pixel of image 2 in one MC sample
    scores = create_acquisition(name, seed=0)(probs, get_reduction(reduction))
    assert scores.isnan().tolist() == [False, False, True, False]


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


def test_custom_acquisition_can_be_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ACQUISITIONS, "_entries", dict(ACQUISITIONS._entries))  # undone after the test

    class Darkest(Acquisition):
        name = "test_darkest_bg"
        needs_mc = False

        def score(self, probs, reduction):
            return probs[0, :, 0].reshape(probs.shape[1], -1).mean(dim=1)

    register_acquisition(Darkest.name, lambda seed: Darkest())
    probs = _fg_probs([True, False])
    assert create_acquisition("test_darkest_bg", seed=0)(probs).shape == (2,)
