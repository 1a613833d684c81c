"""train_supervised: the validation scores it reports are those of the weights it returns."""

from __future__ import annotations

import pytest

from automl_al.config import Config
from automl_al.data import prepare_data
from automl_al.training import evaluate
from automl_al.training.supervised import train_supervised


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    cfg = Config.model_validate({
        "run_dir": str(tmp_path_factory.mktemp("supervised")),
        "data": {"source": "demo", "image_size": [32, 32], "augment": "none",
                 "demo": {"n_patients": 8, "slices_per_patient": 3, "size": 32}},
        "model": {"arch": "Unet", "encoder": "resnet18", "encoder_depth": 3},
        "train": {"epochs": 3, "batch_size": 4, "lr": 0.01, "amp": False},
    })  # fmt: skip
    return cfg, prepare_data(cfg, progress=False)


def test_reported_validation_scores_are_those_of_the_returned_model(demo) -> None:
    cfg, prepared = demo
    result = train_supervised(cfg, prepared, progress=False)

    again = evaluate(result.model, prepared.dataset(prepared.splits["val"]), task="segmentation", classes=2, batch_size=7)

    assert result.val_metrics.keys() == again.keys() and "iou" in again
    assert result.val_metrics == pytest.approx(again, abs=1e-6)
    assert result.val_metrics["iou"] == result.fit.best_metrics["val_iou"]
    assert result.test_metrics.keys() == again.keys()


def test_search_trials_and_the_twin_skip_the_test_split(demo, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, prepared = demo
    import automl_al.training.supervised as supervised

    evaluated: list[int] = []
    real = supervised.evaluate
    monkeypatch.setattr(supervised, "evaluate", lambda model, ds, **kw: evaluated.append(len(ds)) or real(model, ds, **kw))

    result = train_supervised(cfg, prepared, progress=False, score_test=False)

    assert result.test_metrics == {} and evaluated == []
    assert result.val_metrics["iou"] == result.fit.best_metrics["val_iou"]

    from automl_al.search.objective import SupervisedTrainer

    outcome = SupervisedTrainer(progress=False)(cfg, lambda epoch, metrics: None, "val_iou")
    assert evaluated == [] and outcome.value == result.fit.best_metrics["val_iou"]  # a trial: no test pass
