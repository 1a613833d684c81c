import json
import os

import pytest

from automl_al.utils import atomic_write_json, atomic_write_text, progress_bar, select_device


def test_atomic_write_leaves_old_file_when_write_fails(tmp_path, monkeypatch):
    p = tmp_path / "state.json"
    atomic_write_json(p, {"labeled": ["a"]})

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_json(p, {"labeled": ["a", "b"]})
    assert json.loads(p.read_text()) == {"labeled": ["a"]}
    assert [f.name for f in tmp_path.iterdir()] == ["state.json"]  # no temp file left behind


def test_atomic_write_creates_parents(tmp_path):
    atomic_write_text(tmp_path / "a" / "b.txt", "x")
    assert (tmp_path / "a" / "b.txt").read_text() == "x"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)], ids=["umask-022", "umask-027"])
def test_atomic_write_gives_the_permissions_open_would(tmp_path, umask, mode):
    saved = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "report.html", "<html></html>")
        (tmp_path / "plain.html").write_text("<html></html>")
    finally:
        os.umask(saved)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == mode
    assert (tmp_path / "plain.html").stat().st_mode & 0o777 == mode


def test_select_device_cpu_and_unavailable_cuda():
    import torch

    assert select_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            select_device("cuda")


def test_progress_bars_redraw_rarely_when_stderr_is_a_log(monkeypatch, capsys):
    """A log file (docker logs, nohup) gets the bar's first and last state, not a redraw every 0.1 s."""
    import sys
    import time

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    for _ in progress_bar(range(300), desc="work", file=sys.stderr):
        time.sleep(0.001)  # 0.3 s: three redraws at tqdm's default interval
    assert capsys.readouterr().err.count("\r") <= 2  # the opening and closing states only

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal keeps tqdm's own interval
    assert progress_bar(range(3), file=sys.stderr).mininterval == 0.1
