"""``automl-al predict`` round trips on real data: train a tiny model with ``automl-al train``, then
predict masks with the input's own geometry (DICOM rows x cols, NIfTI shape/affine/zooms), maps,
an MLflow ``models:/NAME@champion`` URI, and a classification CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import tifffile
from PIL import Image

from run_helpers import class_folder

from automl_al.cli import main

TINY = ["model.arch=Linknet", "model.encoder=resnet18", "model.encoder_depth=3", "train.epochs=1",
        "train.amp=false", "train.device=cpu", "seed=0"]


def _train(tmp: Path, *overrides: str) -> Path:
    """``automl-al train`` in-process; returns the folder holding config.yaml + model.pt.
    (Tests that need no MLflow model pass tracking.enabled=false: logging exports the model.)"""
    config = tmp / "config.yaml"
    config.write_text("task: segmentation\n")  # everything else comes from --set below
    args = ["train", str(config), "--no-progress", "--set", f"run_dir={tmp / 'run'}",
            "--set", f"tracking.uri=sqlite:///{tmp / 'mlflow.db'}"]
    for item in [*TINY, *overrides]:
        args += ["--set", item]
    assert main(args) == 0
    return tmp / "run" / "train"


@pytest.fixture(scope="module")
def sunnybrook_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model for the Sunnybrook tests (the ``shared_data`` fixture is per test; same folder)."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not shared.is_dir():
        pytest.skip(f"real data folder {shared} is absent")
    tmp = tmp_path_factory.mktemp("sunnybrook")
    return _train(
        tmp, "name=lv", "data.source=folder", f"data.path={shared / 'sunnybrook_lv'}", "data.image_size=[64,64]",
        "model.dropout=head", "data.class_names=[background,lv]",
    )


def test_sunnybrook_dicoms_get_one_png_mask_each_with_the_dicom_size(
    shared_data: Path, sunnybrook_model: Path, tmp_path: Path
) -> None:
    images = shared_data / "sunnybrook_lv" / "images"
    out = tmp_path / "out"
    assert main(["predict", str(sunnybrook_model), str(images), str(out), "--uncertainty",
                 "--mc-samples", "3", "--device", "cpu", "--no-progress"]) == 0
    dicoms = sorted(images.glob("*.dcm"))
    masks = sorted(out.glob("*.png"))
    assert [m.stem for m in masks] == [d.stem for d in dicoms]
    for dcm in dicoms[:3]:
        header = pydicom.dcmread(dcm, stop_before_pixels=True)
        mask = np.asarray(Image.open(out / f"{dcm.stem}.png"))
        assert mask.shape == (header.Rows, header.Columns) and mask.dtype == np.uint8
        assert set(np.unique(mask).tolist()) <= {0, 255}  # binary task: the users' own mask convention
        entropy = tifffile.imread(out / f"{dcm.stem}_uncertainty.tif")
        assert entropy.shape == mask.shape
        assert entropy.min() >= 0 and entropy.max() <= np.log(2) + 1e-5  # nats, 2 classes


def test_predict_from_the_registered_champion_equals_the_run_folder(
    shared_data: Path, sunnybrook_model: Path, tmp_path: Path
) -> None:
    """The model logged by ``train``, registered with alias champion, predicts the same masks."""
    import mlflow

    from automl_al.tracking import MlflowTracker

    uri = f"sqlite:///{sunnybrook_model.parents[1] / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["lv"], filter_string="tags.stage = 'train'")
    model_uri = mlflow.search_logged_models(experiment_ids=[runs.iloc[0].experiment_id]).iloc[0]["model_id"]
    tracker = MlflowTracker("lv", uri)
    assert tracker.register_model(f"models:/{model_uri}", "lv", "champion") == "1"
    picked = sorted((shared_data / "sunnybrook_lv" / "images").glob("*.dcm"))[:2]
    base = ["--device", "cpu", "--no-progress", "--mc-samples", "4"]
    assert main(["predict", "models:/lv@champion", *map(str, picked), str(tmp_path / "mlflow"),
                 "--tracking-uri", uri, *base]) == 0
    assert main(["predict", str(sunnybrook_model), *map(str, picked), str(tmp_path / "dir"), *base]) == 0
    for dcm in picked:
        a = np.asarray(Image.open(tmp_path / "mlflow" / f"{dcm.stem}.png"))
        b = np.asarray(Image.open(tmp_path / "dir" / f"{dcm.stem}.png"))
        # MC dropout samples differ between the two processes' RNG draws only where the model hesitates.
        assert a.shape == b.shape == (256, 256) and (a == b).mean() > 0.95


def test_hippocampus_volumes_keep_shape_affine_and_zooms(hippocampus: Path, tmp_path: Path) -> None:
    model = _train(tmp_path, "name=hippo", "data.source=msd", f"data.path={hippocampus}", "data.classes=3",
                   "data.image_size=[32,32]", "data.test_fraction=0.25", "data.val_fraction=0.25",
                   "tracking.enabled=false")
    out = tmp_path / "out"
    volumes = sorted((hippocampus / "imagesTr").glob("*.nii.gz"))[:2]
    assert main(["predict", str(model), *map(str, volumes), str(out), "--uncertainty", "--device", "cpu",
                 "--no-progress"]) == 0
    for volume in volumes:
        source = nib.load(volume)
        name = volume.name.removesuffix(".nii.gz")
        mask = nib.load(out / f"{name}.nii.gz")
        assert mask.shape == source.shape
        np.testing.assert_allclose(mask.affine, source.affine)
        assert mask.header.get_zooms() == source.header.get_zooms()
        labels = np.asarray(mask.dataobj)
        assert labels.dtype == np.uint8 and set(np.unique(labels).tolist()) <= {0, 1, 2}
        entropy = nib.load(out / f"{name}_uncertainty.nii.gz")
        assert entropy.shape == source.shape
        assert 0 <= float(np.asarray(entropy.dataobj).min()) and float(np.asarray(entropy.dataobj).max()) <= np.log(3) + 1e-5


def test_classification_writes_one_csv_row_per_image(tmp_path: Path) -> None:
    data = class_folder(tmp_path / "classes")
    model = _train(tmp_path, "name=cls", "task=classification", "data.source=classes", f"data.path={data}",
                   "data.image_size=[32,32]", "data.group_pattern=(p\\d+)",  # names from the folders
                   "model.encoder=resnet18",
                   "train.epochs=2", "tracking.enabled=false")
    inputs = [data / "disc" / "p00_disc.png", data / "empty" / "p01_empty.png", data / "empty" / "p02_empty.png"]
    out = tmp_path / "out"
    assert main(["predict", str(model), *map(str, inputs), str(out), "--device", "cpu", "--no-progress"]) == 0
    with (out / "predictions.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["path"] for r in rows] == [str(p) for p in inputs]
    assert list(rows[0]) == ["path", "frame", "label", "class_name", "p_disc", "p_empty", "uncertainty"]
    for row in rows:
        p = np.array([float(row["p_disc"]), float(row["p_empty"])])
        assert p.sum() == pytest.approx(1.0, abs=1e-5)
        assert int(row["label"]) == int(p.argmax()) and row["class_name"] == ["disc", "empty"][int(row["label"])]
        assert float(row["uncertainty"]) == pytest.approx(-(p * np.log(p)).sum(), abs=1e-4)


def _untrained_model_folder(folder: Path) -> Path:
    """config.yaml + model.pt of an untrained tiny model: enough where only the files matter."""
    from automl_al.config import Config, save_config
    from automl_al.models import build_model
    from automl_al.training.checkpoint import save_checkpoint

    cfg = Config.model_validate({"model": {"encoder": "resnet18", "encoder_depth": 3}, "data": {"image_size": [32, 32]}})
    save_checkpoint(folder / "model.pt", build_model(cfg.model, cfg.task, cfg.data.in_channels, cfg.data.classes))
    save_config(cfg, folder / "config.yaml")
    return folder


def test_an_mlflow_uri_that_is_not_in_the_store_is_one_line(tmp_path: Path, capsys) -> None:
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(image)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    code = main(["predict", "models:/nothing@champion", str(image), str(tmp_path / "out"), "--tracking-uri", store])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"models:/nothing@champion: not in the MLflow store {store}" in err and "--tracking-uri" in err


def test_unreadable_files_stop_predict_by_name_or_are_skipped_and_listed(tmp_path: Path, capsys) -> None:
    model = _untrained_model_folder(tmp_path / "model")
    inputs = tmp_path / "export"
    inputs.mkdir()
    for name in ("a.png", "c.png"):
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 40), dtype=np.uint8)).save(inputs / name)
    (inputs / "b.png").write_bytes((inputs / "a.png").read_bytes()[:60])  # truncated
    (inputs / "report.dcm").write_bytes(b"")
    (inputs / "linked.png").symlink_to(tmp_path / "moved.png")
    args = ["predict", str(model), str(inputs), str(tmp_path / "out"), "--device", "cpu", "--no-progress"]

    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{inputs / 'b.png'}: unreadable or truncated image" in err and "--skip-bad" in err

    assert main([*args, "--skip-bad"]) == 0
    printed = capsys.readouterr().out
    assert "skipped 3 file(s)" in printed
    assert f"{inputs / 'b.png'}: unreadable" in printed and f"{inputs / 'report.dcm'}: empty file" in printed
    assert f"{inputs / 'linked.png'}: a broken symbolic link to {tmp_path / 'moved.png'}" in printed
    masks = sorted((tmp_path / "out").iterdir())
    assert [m.name for m in masks] == ["a.png", "c.png"]
    assert all(np.asarray(Image.open(m)).shape == (30, 40) for m in masks)


def test_model_trained_from_a_local_weights_file_loads_without_it(tmp_path: Path) -> None:
    """The checkpoint holds every weight: the pretrained file it started from may be gone (another machine)."""
    import torch

    from automl_al.config import Config, save_config
    from automl_al.models import build_model
    from automl_al.predict import load_predictor
    from automl_al.training.checkpoint import save_checkpoint

    weights = tmp_path / "encoder.pth"
    cfg = Config.model_validate({"model": {"encoder": "resnet18", "encoder_depth": 3, "encoder_weights": str(weights)}})
    torch.save(build_model(cfg.model, "segmentation", 1, 2, pretrained=False).encoder.state_dict(), weights)
    trained = build_model(cfg.model, cfg.task, cfg.data.in_channels, cfg.data.classes)
    save_checkpoint(tmp_path / "final" / "model.pt", trained)
    save_config(cfg, tmp_path / "final" / "config.yaml")
    weights.unlink()

    loaded = load_predictor(tmp_path).model

    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), trained.state_dict().values()))
