"""automl-al: architecture search and active learning for medical images."""

import os

# albumentations checks PyPI for updates at import; never on a hospital/offline machine.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"
