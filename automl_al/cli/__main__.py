"""``python -m automl_al.cli``: the same as the ``automl-al`` console script."""

import sys

from automl_al.cli import main

sys.exit(main())
