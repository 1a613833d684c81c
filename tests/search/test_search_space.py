"""Search-space files: every shipped file compiles; malformed files name the file and the key."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from automl_al.config import Config
from automl_al.search.space import (
    ARCHITECTURE_PARAM,
    SHIPPED_SPACES,
    SearchSpaceError,
    apply_params,
    load_space,
    resolve_space_path,
)
from search_helpers import TINY_SPACE


def _no_fpn_mobilenet(task, arch, encoder, depth, size) -> bool:
    return not (arch == "FPN" and encoder == "mobilenet_v2")


def _write(tmp_path: Path, text: str, name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


SHIPPED = sorted(SHIPPED_SPACES.glob("*.yaml"))


def test_the_four_documented_spaces_are_shipped() -> None:
    names = {p.name for p in SHIPPED}
    assert {"ednas-paper.yaml", "segmentation-cpu.yaml", "classification.yaml", "segmentation.yaml"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_space_compiles_to_optuna_distributions(path: Path) -> None:
    space = load_space(path)  # the real model rules
    dists = space.distributions
    assert isinstance(dists[ARCHITECTURE_PARAM], CategoricalDistribution)
    assert len(dists[ARCHITECTURE_PARAM].choices) == len(space.architectures) > 0
    assert all(isinstance(d, optuna.distributions.BaseDistribution) for d in dists.values())
    # Every point decodes to a config the schema accepts.
    for label in space.architectures:
        point = {name: (label if name == ARCHITECTURE_PARAM else _first(d)) for name, d in dists.items()}
        cfg = apply_params(Config(task=space.task), space.decode(point))
        assert cfg.task == space.task


def _first(dist: optuna.distributions.BaseDistribution):
    return dist.choices[0] if isinstance(dist, CategoricalDistribution) else dist.low


def test_cpu_space_is_big_enough_for_the_benchmark() -> None:
    space = load_space(SHIPPED_SPACES / "segmentation-cpu.yaml")
    assert space.size is not None and space.size >= 24
    assert space.size == len(space.architectures) * 3 * 2


def test_incompatible_pairs_are_never_points(tmp_path: Path) -> None:
    space = load_space(_write(tmp_path, TINY_SPACE.replace("valid_architectures: 4", "valid_architectures: 3")),
                       compatible=_no_fpn_mobilenet)
    assert sorted(space.architectures) == [
        "FPN/resnet18/depth3/32px",
        "Unet/mobilenet_v2/depth3/32px",
        "Unet/resnet18/depth3/32px",
    ]
    assert space.size == 3 * 2 * 1
    grid = space.grid()
    assert grid is not None and len(grid[ARCHITECTURE_PARAM]) == 3


def test_suggest_returns_dotted_config_values(tmp_path: Path) -> None:
    space = load_space(_write(tmp_path, TINY_SPACE), compatible=lambda *a: True)
    trial = optuna.trial.FixedTrial(
        {ARCHITECTURE_PARAM: "FPN/resnet18/depth3/32px", "train.lr": 1e-4, "train.batch_size": 8}
    )
    params = space.suggest(trial)
    assert params == {
        "model.arch": "FPN",
        "model.encoder": "resnet18",
        "model.encoder_depth": 3,
        "data.image_size": [32, 32],
        "train.lr": 1e-4,
        "train.batch_size": 8,
    }
    cfg = apply_params(Config(seed=7), params)
    assert (cfg.model.arch, cfg.model.encoder, cfg.model.encoder_depth) == ("FPN", "resnet18", 3)
    assert cfg.data.image_size == (32, 32) and cfg.train.lr == 1e-4 and cfg.seed == 7


def _sizes_and_no_fpn_mobilenet(tmp_path: Path):
    text = TINY_SPACE.replace("image_size: [32]", "image_size: [32, 64]").replace("valid_architectures: 4", "valid_architectures: 6")
    return load_space(_write(tmp_path, text), compatible=_no_fpn_mobilenet)


def test_factored_space_samples_every_valid_architecture_and_no_other(tmp_path: Path) -> None:
    space = _sizes_and_no_fpn_mobilenet(tmp_path).factored()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(60):
        trial = study.ask()
        config = space.suggest(trial)
        assert space.decode(trial.params) == config  # stored params give back the trained config
        seen.add((config["model.arch"], config["model.encoder"], tuple(config["data.image_size"])))
        study.tell(trial, 0.0)
    valid = {(v["model.arch"], v["model.encoder"], tuple(v["data.image_size"])) for v in space.architectures.values()}
    assert seen == valid and len(valid) == 6  # (FPN, mobilenet_v2) never, at either size


def test_factored_space_names_a_restricted_factor_by_what_it_lacks(tmp_path: Path) -> None:
    space = _sizes_and_no_fpn_mobilenet(tmp_path).factored()
    unet = optuna.trial.FixedTrial({"model.arch": "Unet", "model.encoder": "mobilenet_v2", "data.image_size": "64x64",
                                    "train.lr": 1e-3, "train.batch_size": 8})
    fpn = optuna.trial.FixedTrial({"model.arch": "FPN", "model.encoder without mobilenet_v2": "resnet18",
                                   "data.image_size": "32x32", "train.lr": 1e-3, "train.batch_size": 8})
    assert space.suggest(unet)["data.image_size"] == [64, 64]
    assert space.suggest(fpn)["model.encoder"] == "resnet18"
    # The single-valued depth is not a parameter; the encoder after FPN has its own fixed choices.
    assert set(fpn.params) == {"model.arch", "model.encoder without mobilenet_v2", "data.image_size", "train.lr",
                               "train.batch_size"}


def test_a_factor_lacking_many_values_gets_a_short_name(tmp_path: Path) -> None:
    encoders = [f"resnet{i}" for i in range(40)]
    text = TINY_SPACE.replace("[resnet18, mobilenet_v2]", "[" + ", ".join(encoders) + "]").replace(
        "valid_architectures: 4", "valid_architectures: 42")
    space = load_space(_write(tmp_path, text), compatible=lambda task, arch, encoder, *a: arch == "Unet" or encoder in encoders[:2])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    names: set[str] = set()
    for _ in range(20):
        trial = study.ask()
        config = space.factored().suggest(trial)
        assert config["model.arch"] == "Unet" or config["model.encoder"] in encoders[:2]
        names |= set(trial.params)
        study.tell(trial, 0.0)
    (short,) = [n for n in names if n.startswith("model.encoder ")]
    assert short.startswith("model.encoder among 2 of 40 (") and len(short) <= 120  # not 38 names
    assert names == {"model.arch", "model.encoder", short, "train.lr", "train.batch_size"}


def test_apply_params_rejects_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ValueError, match="train.lrr"):
        apply_params(Config(), {"train.lrr": 1.0})
    with pytest.raises(ValueError, match="train.batch_size"):
        apply_params(Config(), {"train.batch_size": 0})


def test_ranges_compile_to_int_and_log_float_distributions(tmp_path: Path) -> None:
    text = TINY_SPACE.replace(
        "  train.lr: [1.0e-3, 1.0e-4]\n  train.batch_size: [8]\n",
        "  train.lr: {low: 1.0e-5, high: 1.0e-2, log: true}\n  train.batch_size: {low: 4, high: 16, step: 4}\n",
    )
    space = load_space(_write(tmp_path, text), compatible=lambda *a: True)
    assert space.params["train.lr"] == FloatDistribution(1e-5, 1e-2, log=True)
    assert space.params["train.batch_size"] == IntDistribution(4, 16, step=4)
    assert space.size is None and space.grid() is None


def test_fingerprint_follows_the_choices(tmp_path: Path) -> None:
    a = load_space(_write(tmp_path, TINY_SPACE), compatible=lambda *a: True)
    b = load_space(_write(tmp_path, TINY_SPACE.replace("1.0e-4]", "3.0e-4]"), "b.yaml"), compatible=lambda *a: True)
    assert a.fingerprint() == load_space(a.path, compatible=lambda *a: True).fingerprint()
    assert a.fingerprint() != b.fingerprint()


def test_shipped_space_resolves_from_any_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_space_path("search_spaces/segmentation-cpu.yaml") == SHIPPED_SPACES / "segmentation-cpu.yaml"
    assert resolve_space_path("elsewhere/none.yaml") == Path("elsewhere/none.yaml")


def _set(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


BAD = {
    "not-mapping": ("- a\n- b\n", "top level"),
    "bad-yaml": ("task: [segmentation\n", "not valid YAML"),
    "unknown-top-key": (TINY_SPACE + "paramz: {}\n", "paramz: unknown key"),
    "task": (_set(TINY_SPACE, "task: segmentation", "task: detection"), "task: must be"),
    "no-architecture": ("task: segmentation\nparams: {}\n", "architecture: must be a mapping"),
    "no-arch": (_set(TINY_SPACE, "  arch: [Unet, FPN]\n", ""), "architecture.arch: is required"),
    "unknown-arch-key": (_set(TINY_SPACE, "  arch:", "  decoder:"), "architecture.decoder: unknown key"),
    "empty-encoders": (_set(TINY_SPACE, "[resnet18, mobilenet_v2]", "[]"), "architecture.encoder: must be a non-empty list"),
    "depth-out-of-range": (_set(TINY_SPACE, "encoder_depth: [3]", "encoder_depth: [7]"), "architecture.encoder_depth: value 7"),
    "duplicate": (_set(TINY_SPACE, "[1.0e-3, 1.0e-4]", "[1.0e-3, 1.0e-3]"), "params.train.lr: lists a value twice"),
    "not-list-or-range": (_set(TINY_SPACE, "[1.0e-3, 1.0e-4]", "fast"), "params.train.lr: must be a list"),
    "bad-choice": (TINY_SPACE + "  train.optimizer: [adam, lion]\n", "params.train.optimizer: value 'lion'"),
    "unknown-param": (TINY_SPACE + "  train.lrr: [1.0]\n", "params.train.lrr: value 1.0 is not accepted"),
    "data-param": (TINY_SPACE + "  data.augment: [none]\n", "params.data.augment: only model.*, train.*"),
    "arch-as-param": (TINY_SPACE + "  model.encoder: [resnet34]\n", "params.model.encoder: is part of the architecture"),
    "inverted-range": (_set(TINY_SPACE, "[1.0e-3, 1.0e-4]", "{low: 1.0e-2, high: 1.0e-4}"), "params.train.lr: low must be below high"),
    "log-from-zero": (_set(TINY_SPACE, "[1.0e-3, 1.0e-4]", "{low: 0.0, high: 1.0e-2, log: true}"), "params.train.lr: a log range"),
    "wrong-valid-count": (_set(TINY_SPACE, "valid_architectures: 4", "valid_architectures: 9"), "valid_architectures: file says 9 but the model rules accept 4"),
    "missing-file": (None, "search-space file not found"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_space_names_file_and_key(case: str, tmp_path: Path) -> None:
    text, expected = BAD[case]
    path = tmp_path / "space.yaml" if text is None else _write(tmp_path, text)
    with pytest.raises(SearchSpaceError) as err:
        load_space(path, compatible=lambda *a: True)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_space_where_the_rules_accept_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SearchSpaceError, match="architecture: no combination is accepted"):
        load_space(_write(tmp_path, TINY_SPACE), compatible=lambda *a: False)


def test_space_beside_the_config_file_is_found_from_any_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from automl_al.config import load_config

    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "my-space.yaml").write_text(TINY_SPACE)
    (tmp_path / "study" / "cfg.yaml").write_text("search:\n  space: my-space.yaml\n")
    monkeypatch.chdir(tmp_path)
    cfg = load_config("study/cfg.yaml")
    assert cfg.search.space == tmp_path / "study" / "my-space.yaml"
    # A path that is not beside the file stays as written (CWD-relative or a shipped space).
    (tmp_path / "study" / "cfg.yaml").write_text("search:\n  space: search_spaces/ednas-paper.yaml\n")
    assert load_config("study/cfg.yaml").search.space == Path("search_spaces/ednas-paper.yaml")


def test_packaged_demo_config_finds_its_space() -> None:
    from automl_al.config import load_config
    from automl_al.templates import demo_config_path

    cfg = load_config(demo_config_path())
    space = load_space(resolve_space_path(cfg.search.space), cfg)
    assert space.path == demo_config_path().parent / "demo-space.yaml"
    assert len(space.architectures) == 2  # Unet and Linknet on resnet18 (demo-space.yaml)
