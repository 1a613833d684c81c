"""automl-al: architecture search and active learning for medical images."""

import os
from importlib.metadata import PackageNotFoundError, version

# albumentations checks PyPI for updates at import; never on a hospital/offline machine.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

try:
    __version__ = version("automl-al")  # pyproject.toml is the one place the version is written
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "unknown"
