"""``automl-al train CONFIG`` on the demo and on real data (Sunnybrook DICOM + PNG masks, MSD
hippocampus NIfTI): each run lands in MLflow with its metrics and its logged model."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
import yaml

from automl_al.cli import main
from automl_al.predict import load_predictor

TINY = {
    "model": {"arch": "Unet", "encoder": "resnet18", "encoder_depth": 3},
    "train": {"epochs": 1, "batch_size": 8, "amp": False},
}


def _data_section(kind: str, request: pytest.FixtureRequest) -> dict:
    if kind == "demo":
        return {"source": "demo", "image_size": [32, 32], "demo": {"n_patients": 6, "slices_per_patient": 3, "size": 32}}
    if kind == "sunnybrook":
        shared = request.getfixturevalue("shared_data")
        return {"source": "folder", "path": str(shared / "sunnybrook_lv"), "image_size": [64, 64], "val_fraction": 0.0, "test_fraction": 0.3}
    return {"source": "msd", "path": str(request.getfixturevalue("hippocampus")), "classes": 3, "image_size": [32, 32], "test_fraction": 0.34, "val_fraction": 0.0}


@pytest.mark.parametrize("kind", ["demo", "sunnybrook", "msd"])
def test_train_logs_a_run_with_metrics_and_model(kind: str, tmp_path: Path, request, capsys) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = {"name": f"train-{kind}", "run_dir": str(tmp_path / "run"), "data": _data_section(kind, request),
           "tracking": {"uri": uri}, **TINY}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cfg))

    assert main(["train", str(config), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    model_uri = printed.split("MLflow model: ")[1].split()[0]

    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=[f"train-{kind}"], output_format="list")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    for key in ("test_iou", "test_dice", "train_loss"):
        assert key in run.data.metrics, f"{key} missing from {sorted(run.data.metrics)}"
    assert 0.0 <= run.data.metrics["test_iou"] <= 1.0
    assert run.data.params["model.encoder"] == "resnet18"
    assert mlflow.get_logged_model(model_uri.removeprefix("models:/")).source_run_id == run.info.run_id
    # The logged model predicts a batch as the checkpoint does (any batch size: MLflow serving).
    predictor = load_predictor(tmp_path / "run" / "train")
    shape = (3, predictor.cfg.data.in_channels, *predictor.cfg.data.image_size)
    batch = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    with torch.no_grad():
        expected = predictor.model(torch.from_numpy(batch)).numpy()
    np.testing.assert_allclose(mlflow.pyfunc.load_model(model_uri).predict(batch), expected, rtol=1e-4, atol=1e-4)


def test_train_names_the_problem_instead_of_a_traceback(tmp_path: Path, capsys) -> None:
    (tmp_path / "data" / "images").mkdir(parents=True)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"run_dir": str(tmp_path / "run"), "data": {"source": "folder", "path": str(tmp_path / "data")},
                                      "tracking": {"enabled": False}, **TINY}))
    assert main(["train", str(config), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "automl-al train: error:" in err and str(tmp_path / "data") in err
