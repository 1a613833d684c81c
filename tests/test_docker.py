"""Dockerfile and the team tracking stack, checked statically (no Docker engine here), plus what the
image runs, run outside Docker."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return _instructions(ROOT / "Dockerfile")


def _args(instrs: list[tuple[str, str]], name: str) -> list[str]:
    return [a for i, a in instrs if i == name]


def test_base_image_is_an_official_pytorch_cuda_runtime_matching_the_torch_pin(dockerfile) -> None:
    (default,) = [a.split("=", 1)[1] for a in _args(dockerfile, "ARG") if a.startswith("BASE_IMAGE=")]
    assert _args(dockerfile, "FROM") == ["${BASE_IMAGE}"]
    m = re.fullmatch(r"pytorch/pytorch:(\d+\.\d+\.\d+)-cuda[\d.]+-cudnn\d+-runtime", default)
    assert m, f"not an official pytorch CUDA runtime image: {default}"
    pin = re.search(r'"torch==([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    assert pin and pin.group(1) == m.group(1), "image torch must equal the pyproject pin, or pip reinstalls torch"


def test_runs_as_non_root_with_the_cli_as_entrypoint(dockerfile) -> None:
    users = _args(dockerfile, "USER")
    assert users and users[-1] not in ("root", "0", "0:0")
    run = " ".join(_args(dockerfile, "RUN"))
    assert "useradd" in run and users[-1] in run
    assert _args(dockerfile, "ENTRYPOINT") == ['["automl-al"]']
    assert _args(dockerfile, "WORKDIR")[-1] == "/runs"
    assert "chown" in run and "/runs" in run  # the non-root user can write its results


def _pip_install_args(command: str) -> list[str]:
    """Arguments of the first ``pip install`` in a shell line, without ``-e`` (editable is a dev choice)."""
    words = shlex.split(command)
    i = next(i for i, w in enumerate(words) if w.endswith("pip") and words[i + 1] == "install")
    args = []
    for w in words[i + 2 :]:
        if w in ("&&", ";", "|"):
            break
        args.append(w)
    return [a for a in args if a != "-e"]


def test_install_step_is_the_readme_install(dockerfile) -> None:
    readme = (ROOT / "README.md").read_text()
    readme_line = next(line for line in readme.splitlines() if "pip install" in line and "automl-al run" in line)
    (docker_run,) = [a for a in _args(dockerfile, "RUN") if "pip install" in a]
    assert _pip_install_args(docker_run) == _pip_install_args(readme_line) == ["-q", "."]


def test_build_context_has_what_pip_install_needs(dockerfile) -> None:
    copied = " ".join(_args(dockerfile, "COPY"))
    for needed in ("pyproject.toml", "README.md", "automl_al"):
        assert needed in copied
    ignored = (ROOT / ".dockerignore").read_text().split()
    for needed in ("pyproject.toml", "README.md", "automl_al"):
        assert needed not in ignored
    for heavy in (".venv", ".git", "runs"):
        assert heavy in ignored


def test_environment_points_mlflow_and_data_at_the_volumes(dockerfile) -> None:
    env = " ".join(_args(dockerfile, "ENV"))
    assert "MLFLOW_TRACKING_URI=sqlite:////runs/mlflow/mlflow.db" in env
    assert "HF_HUB_OFFLINE=1" in env  # never wait on a model hub inside a hospital network


def test_the_image_command_works_outside_docker() -> None:
    """ENTRYPOINT + CMD = ``automl-al --help``: the same console script, run here."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "import sys; from automl_al.cli import main; sys.exit(main(['--help']))"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0
    for verb in ("run", "report", "predict", "init"):
        assert re.search(rf"\b{verb}\b", out.stdout), f"`automl-al {verb}` missing from --help"


# --- mlflow/docker-compose.yml --------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "mlflow" / "docker-compose.yml").read_text())


def test_compose_has_postgres_mlflow_and_optuna_dashboard(compose) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "mlflow", "optuna-dashboard"}
    mlflow_cmd = " ".join(services["mlflow"]["command"])
    assert "--backend-store-uri postgresql+psycopg2://" in mlflow_cmd and "/mlflow" in mlflow_cmd  # the driver it installs
    dashboard_storage = services["optuna-dashboard"]["command"][0]
    assert dashboard_storage.startswith("postgresql+psycopg2://") and dashboard_storage.endswith("/optuna")
    # MLflow and Optuna both keep an alembic_version table: they need two databases.
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "mlflow"
    init = compose["configs"]["create-optuna-db"]["content"]
    assert "CREATE DATABASE optuna" in init
    assert any(c["source"] == "create-optuna-db" for c in services["postgres"]["configs"])
    for name in ("mlflow", "optuna-dashboard"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def _expand_default(spec: str) -> str:
    """``${VAR:-default}`` -> ``default``: what compose does when VAR is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", spec)


def test_every_published_port_binds_to_loopback_by_default(compose) -> None:
    published = [(name, p) for name, s in compose["services"].items() for p in s.get("ports", [])]
    assert {name for name, _ in published} == {"postgres", "mlflow", "optuna-dashboard"}
    for name, spec in published:
        host, host_port, container_port = _expand_default(spec).split(":")
        assert host == "127.0.0.1", f"{name} publishes {spec} beyond loopback by default"
        assert host_port.isdigit() and container_port.isdigit()
