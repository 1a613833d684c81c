"""Every verb reports a user's mistake as one line naming it (exit 2), with the traceback only under -v;
--version names the libraries behind the numbers."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from automl_al.cli import main
from automl_al.models import WeightsLoadError


def _config(tmp_path: Path, weights: str) -> Path:
    raw = {
        "run_dir": str(tmp_path / "run"),
        "data": {"source": "demo", "image_size": [32, 32], "demo": {"n_patients": 6, "slices_per_patient": 3, "size": 32}},
        "model": {"arch": "Unet", "encoder": "resnet18", "encoder_depth": 3, "encoder_weights": weights},
        "train": {"epochs": 1, "amp": False},
        "active": {"initial": 4, "query_size": 2, "max_phases": 1, "mc_samples": 2},
        "tracking": {"enabled": False},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    "verb", [["train"], ["search"], ["learn"], ["compare", "--acquisition", "random", "--seeds", "1"]]
)
def test_missing_weights_file_is_one_line_naming_it(
    verb: list[str], tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found before any data is prepared (hours on a real dataset), not in every trial or phase."""
    import automl_al.data

    def too_late(*args, **kwargs):
        raise AssertionError("data prepared before the weights file was checked")

    monkeypatch.setattr(automl_al.data, "prepare_data", too_late)
    missing = tmp_path / "nowhere" / "encoder.pth"
    code = main([*verb, str(_config(tmp_path, str(missing))), "--no-progress"])

    err = capsys.readouterr().err
    assert code == 2
    assert f"automl-al {verb[0]}: error: model.encoder_weights: file {missing} does not exist" in err
    assert "Traceback" not in err


def test_data_on_a_path_that_does_not_exist_says_so(tmp_path: Path, capsys) -> None:
    assert main(["data", str(tmp_path / "nowhere")]) == 2
    assert f"automl-al data: error: {tmp_path / 'nowhere'}: no such data folder or config file" in capsys.readouterr().err


def test_version_names_the_libraries_behind_the_numbers(capsys) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps long lines
    assert info.value.code == 0
    assert out.startswith(f"automl-al {version('automl-al')} (python ")
    assert f"torch {version('torch')}" in out and f"segmentation-models-pytorch {version('segmentation-models-pytorch')}" in out


def test_verbose_logs_the_traceback_too(tmp_path: Path, capsys, caplog) -> None:
    config = _config(tmp_path, str(tmp_path / "nowhere.pth"))
    with caplog.at_level(logging.DEBUG, logger="automl_al"):
        assert main(["-v", "train", str(config), "--no-progress"]) == 2
    assert any(r.exc_info and isinstance(r.exc_info[1], WeightsLoadError) for r in caplog.records)
    assert "nowhere.pth does not exist" in capsys.readouterr().err
