from pathlib import Path

import pytest

from automl_al.config import Config, ConfigError, dump_config, load_config, parse_overrides


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "study.yaml"
    p.write_text(text)
    return p


def test_defaults_are_offline_and_demo():
    cfg = load_config()
    assert cfg.data.source == "demo"
    assert cfg.model.encoder_weights is None  # never download by default


def test_unknown_key_names_file_and_dotted_key(tmp_path):
    p = write(tmp_path, "train:\n  epoch: 3\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(p) in str(e.value)
    assert "train.epoch" in str(e.value)
    assert "unknown key" in str(e.value)


def test_bad_value_names_key(tmp_path):
    p = write(tmp_path, "train:\n  lr: -1\n")
    with pytest.raises(ConfigError, match=r"train\.lr"):
        load_config(p)


def test_not_yaml_and_not_mapping(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "a: [1, 2\n"))
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(write(tmp_path, "- 1\n- 2\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_precedence_defaults_yaml_cli(tmp_path):
    p = write(tmp_path, "train:\n  epochs: 5\n  lr: 0.01\n")
    cfg = load_config(p, ["train.epochs=2", "model.encoder=resnet34"])
    assert cfg.train.epochs == 2  # CLI beats YAML
    assert cfg.train.lr == 0.01  # YAML beats default
    assert cfg.model.encoder == "resnet34"
    assert cfg.train.batch_size == Config().train.batch_size


def test_relative_data_path_resolves_against_config_folder(tmp_path):
    (tmp_path / "imgs").mkdir()
    p = write(tmp_path, "data:\n  source: folder\n  path: imgs\n")
    assert load_config(p).data.path == (tmp_path / "imgs").resolve()


def test_weights_and_space_files_beside_the_config_are_found_there(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "encoder.pth").write_bytes(b"")
    (tmp_path / "cfg" / "space.yaml").write_text("")
    text = "model:\n  encoder_weights: {}\nsearch:\n  space: {}\n"
    monkeypatch.chdir(tmp_path)
    beside = load_config(write(tmp_path / "cfg", text.format("encoder.pth", "space.yaml")))
    assert beside.model.encoder_weights == str((tmp_path / "cfg" / "encoder.pth").resolve())
    assert beside.search.space == (tmp_path / "cfg" / "space.yaml").resolve()
    # anything else stays as written: a named weight set, a shipped space, a file in the CWD
    elsewhere = load_config(write(tmp_path / "cfg", text.format("imagenet", "segmentation-cpu.yaml")))
    assert elsewhere.model.encoder_weights == "imagenet"
    assert elsewhere.search.space == Path("segmentation-cpu.yaml")
    cwd_file = load_config(write(tmp_path / "cfg", text.format("weights/encoder.pth", "space.yaml")))
    assert cwd_file.model.encoder_weights == "weights/encoder.pth"


def test_folder_source_requires_path():
    with pytest.raises(ConfigError, match="data.path is required"):
        load_config(None, ["data.source=folder"])


def test_override_syntax_errors():
    with pytest.raises(ConfigError, match="key.sub=value"):
        parse_overrides(["train.epochs"])
    assert parse_overrides(["a.b=1", "a.c=[1, 2]"]) == {"a": {"b": 1, "c": [1, 2]}}


def test_dump_round_trip(tmp_path):
    cfg = load_config(None, ["train.epochs=7", "data.image_size=[32, 48]"])
    p = tmp_path / "resolved.yaml"
    p.write_text(dump_config(cfg))
    assert load_config(p) == cfg.model_copy(update={})


def test_kcenter_diversity_refuses_power_keys_by_file_and_key(tmp_path):
    p = write(tmp_path, "active:\n  acquisition: power_mi\n  diversity: kcenter\n")
    with pytest.raises(ConfigError, match=r"active.*use 'mi' with kcenter") as e:
        load_config(p)
    assert str(p) in str(e.value)
    assert load_config(write(tmp_path, "active:\n  acquisition: mi\n  diversity: kcenter\n")).active.diversity == "kcenter"
