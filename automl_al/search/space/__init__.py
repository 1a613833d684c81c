"""Search-space files (``search_spaces/*.yaml``) -> Optuna distributions -> config values.

A space file has two parts::

    task: segmentation
    architecture:                  # sampled JOINTLY: only combinations the model rules accept
      arch: [Unet, FPN, PAN]
      encoder: [resnet18, tu-regnety_004]
      encoder_depth: [3, 4]        # optional (default: the base config's)
      image_size: [64]             # optional, square side in px (default: the base config's)
    valid_architectures: 11        # optional: the count the rules allow; checked on load
    params:                        # independent hyper-parameters, by dotted config key
      train.lr: [1.0e-4, 4.0e-4]                   # a list: one of these values
      train.batch_size: [4, 8]
      model.dropout_rate: {low: 0.0, high: 0.5}    # a range (ints -> int range; log/step optional)

How the architecture is sampled: the model factory's compatibility rules must hold while sampling,
so no invalid (decoder, encoder, depth, size) combination ever costs a trial. The valid combinations
are enumerated once. Random search and grid see them as ONE static categorical parameter
``architecture`` (labels such as ``"FPN/resnet18/depth4"``): random is then uniform over valid
architectures (the EDNAS baseline) and grid enumerates exactly the valid points. TPE, which learns
per parameter, gets them factor by factor (``SearchSpace.factored``): ``model.arch``, then
``model.encoder`` among the encoders valid with that decoder, and so on, so that what it learns of
an encoder is shared across decoders. Optuna needs a parameter's choices to be fixed, so a factor
whose valid values depend on the earlier ones is a parameter of its own, named by what it lacks
(``"model.encoder without vgg11_bn"``). On a 35-architecture table this found the best point in
107 epochs against 147 with one categorical (benchmarks/search_efficiency.py, BENCHMARKS.md).
Classification spaces list timm model names under ``architecture.encoder`` only.

Only ``model.*`` and ``train.*`` keys may be searched: data preprocessing and splits must be the same
for every trial (except the image size, which is part of the architecture) so scores compare.

One job per module: ``schema`` (the file's shape, a pydantic model), ``compile`` (reading a file and
checking its values against the config and the model rules), ``sampling`` (:class:`SearchSpace`:
what Optuna sees and suggests), ``encoding`` (the architecture's parameter names), ``apply``
(dotted keys -> config) and ``shipped`` (finding the shipped spaces).
"""

from __future__ import annotations

from automl_al.search.space.apply import apply_params
from automl_al.search.space.compile import TOP_KEYS, Compatibility, load_space, model_rules, read_space_file
from automl_al.search.space.encoding import ARCHITECTURE_PARAM, MAX_PARAM_NAME
from automl_al.search.space.sampling import SearchSpace
from automl_al.search.space.schema import ARCH_KEYS, SEARCHABLE_SECTIONS, SearchSpaceError, SpaceFile
from automl_al.search.space.shipped import SHIPPED_SPACES, resolve_space_path, shipped_space_names

__all__ = [
    "ARCHITECTURE_PARAM",
    "ARCH_KEYS",
    "MAX_PARAM_NAME",
    "SEARCHABLE_SECTIONS",
    "SHIPPED_SPACES",
    "TOP_KEYS",
    "Compatibility",
    "SearchSpace",
    "SearchSpaceError",
    "SpaceFile",
    "apply_params",
    "load_space",
    "model_rules",
    "read_space_file",
    "resolve_space_path",
    "shipped_space_names",
]
