"""Shared test settings: offline, quiet, small."""

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from run_helpers import free_port

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """In-process torch on one thread: tiny models gain nothing from intra-op threads, and OpenMP
    spinning beside other busy processes on a 2-core machine made tiny trainings 4-50x slower.
    Restores the setting after each test (subprocess tests set OMP_NUM_THREADS themselves)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the project; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture
def hippocampus(shared_data: Path, tmp_path: Path) -> Path:
    """Five real MSD Task04 cases in the MSD layout: symlinks to ../shared plus dataset.json
    (nothing copied but the small JSON), so a test reads real volumes in seconds."""
    real = shared_data / "msd_hippocampus"
    root = tmp_path / "hippo"
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    shutil.copy(real / "dataset.json", root / "dataset.json")
    for image in sorted((real / "imagesTr").glob("hippocampus_*.nii.gz"))[:5]:
        (root / "imagesTr" / image.name).symlink_to(image)
        (root / "labelsTr" / image.name).symlink_to(real / "labelsTr" / image.name)
    return root


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL cluster (initdb + pg_ctl) on a free loopback port; yields an SQLAlchemy
    URL to its empty database ``optuna``. initdb refuses root: then the server runs as ``postgres``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL server binaries are absent (apt-get install postgresql)")
    bin_dir = Path(found[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="automl-al-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        shutil.chown(base, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=120)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "server.log"), "-w", "start")
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "optuna")
        yield f"postgresql://postgres@127.0.0.1:{port}/optuna"  # README's form: SQLAlchemy picks the driver
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)

