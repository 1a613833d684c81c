from importlib.metadata import version

import mlflow
import numpy as np
import pytest
import torch

from automl_al.tracking import MlflowTracker, NullTracker


@pytest.fixture
def uri(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"


def test_nested_runs_metrics_params_and_artifacts_land(uri, tmp_path):
    tracker = MlflowTracker("exp-a", uri)
    note = tmp_path / "note.txt"
    note.write_text("hello")
    with tracker.start_run("parent", tags={"stage": "search"}) as parent_id:
        tracker.log_params({"model": {"arch": "Unet", "encoder": "resnet18"}, "lr": 1e-3})
        with tracker.start_run("trial-000") as child_id:
            for epoch in range(3):
                tracker.log_metrics({"val_iou": 0.1 * epoch, "bad": float("nan")}, step=epoch)
        tracker.log_artifact(note)
    client = mlflow.MlflowClient(uri)
    parent = client.get_run(parent_id)
    assert parent.data.params["model.arch"] == "Unet"
    assert parent.data.tags["stage"] == "search"
    child = client.get_run(child_id)
    assert child.data.tags["mlflow.parentRunId"] == parent_id
    # the top-level run says which libraries made its numbers; its children inherit that
    assert parent.data.tags["versions.torch"] == version("torch")
    assert parent.data.tags["versions.automl-al"] == version("automl-al")
    assert not any(k.startswith("versions.") for k in child.data.tags)
    history = client.get_metric_history(child_id, "val_iou")
    assert [m.step for m in history] == [0, 1, 2]
    assert "bad" not in child.data.metrics  # non-finite values are dropped, not logged as NaN
    assert [a.path for a in client.list_artifacts(parent_id)] == ["note.txt"]
    # artifacts live under the local store folder, beside the database
    assert (tmp_path / "mlflow" / "artifacts").is_dir()


def test_resume_existing_run_id(uri):
    tracker = MlflowTracker("exp-b", uri)
    with tracker.start_run("phase") as run_id:
        tracker.log_metrics({"m": 1.0}, step=0)
    with tracker.start_run("ignored", run_id=run_id) as again:
        tracker.log_metrics({"m": 2.0}, step=1)
    assert again == run_id
    hist = mlflow.MlflowClient(uri).get_metric_history(run_id, "m")
    assert [m.value for m in hist] == [1.0, 2.0]


def test_log_model_with_signature_takes_any_batch_size(uri):
    """Logged from a single example image, the model still predicts batches: torch.export (MLflow's
    pt2 format) would make a batch of one a constant of the exported program."""
    tracker = MlflowTracker("exp-c", uri)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2)).eval()
    with tracker.start_run("m"):
        model_uri = tracker.log_model(model, np.zeros((1, 1, 8, 8), np.float32))
    loaded = mlflow.pyfunc.load_model(model_uri)
    sig = loaded.metadata.signature
    assert sig.inputs.to_dict()[0]["tensor-spec"]["shape"] == (-1, 1, 8, 8)
    assert sig.outputs.to_dict()[0]["tensor-spec"]["shape"] == (-1, 2, 8, 8)
    batch = np.random.default_rng(0).normal(size=(3, 1, 8, 8)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(batch)).numpy()
    np.testing.assert_allclose(loaded.predict(batch), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded.predict(batch[:1]), expected[:1], rtol=1e-5, atol=1e-6)


def test_null_tracker_is_inert():
    t = NullTracker()
    with t.start_run("x") as rid:
        t.log_metrics({"a": 1.0})
    assert rid == ""


def test_prefixed_tracker_prefixes_metrics_and_passes_the_rest():
    from automl_al.tracking import PrefixedTracker

    class Recorder(NullTracker):
        def __init__(self):
            self.calls = []

        def log_metrics(self, metrics, step=None):
            self.calls.append(("metrics", dict(metrics), step))

        def set_tags(self, tags):
            self.calls.append(("tags", dict(tags), None))

    inner = Recorder()
    tracker = PrefixedTracker(inner, "mc_")
    tracker.log_metrics({"loss": 1.0}, step=2)
    tracker.set_tags({"stage": "active"})
    assert inner.calls == [("metrics", {"mc_loss": 1.0}, 2), ("tags", {"stage": "active"}, None)]
