"""Checkpoints: weights and metadata round trip; damaged or foreign files fail naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from automl_al.training import CheckpointError, load_checkpoint, save_checkpoint


def net(seed: int, width: int = 4) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, width, 3), nn.BatchNorm2d(width))


def test_round_trip_restores_weights_buffers_and_extra(tmp_path: Path) -> None:
    src = net(0)
    src.train()(torch.randn(2, 1, 5, 5))  # moves the BatchNorm running stats away from their init
    extra = {"best_epoch": 3, "monitor": "val_iou", "best_metrics": {"val_iou": 0.75}, "classes": [0, 1], "note": None}
    path = tmp_path / "sub" / "model.pt"
    save_checkpoint(path, src, extra)
    dst = net(1)
    assert load_checkpoint(path, dst) == extra
    for (name, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        assert torch.equal(a, b), name
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temp file left behind


def test_truncated_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, net(0), {})
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="model.pt.*truncated"):
        load_checkpoint(path, net(0))


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_checkpoint(junk, net(0))
    bare = tmp_path / "bare.pt"
    torch.save(net(0).state_dict(), bare)  # a plain state_dict, not written by save_checkpoint
    with pytest.raises(CheckpointError, match="bare.pt.*format marker"):
        load_checkpoint(bare, net(0))
    with pytest.raises(CheckpointError, match="missing.pt: checkpoint file not found"):
        load_checkpoint(tmp_path / "missing.pt", net(0))


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, net(0, width=4), {})
    with pytest.raises(CheckpointError, match="model.pt.*do not fit"):
        load_checkpoint(path, net(0, width=8))


def test_unloadable_extra_is_refused_before_writing(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    with pytest.raises(TypeError, match=r"extra\['paths'\]\[0\] is a PosixPath"):
        save_checkpoint(path, net(0), {"paths": [tmp_path]})
    with pytest.raises(TypeError, match="non-string key 1"):
        save_checkpoint(path, net(0), {"per_class": {1: 0.5}})
    assert not path.exists()


def test_overwrite_keeps_the_old_file_when_writing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, net(0), {"version": 1})
    before = path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr("automl_al.utils.os.fsync", disk_full)  # fails after half the bytes are out
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(path, net(1), {"version": 2})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
