"""Registries are the only lists of names: the config checks every chosen-by-name key against its
registry when it loads, a misspelt name fails before any data is read, and plug-ins from outside the
package (the ``plugins`` key, the ``automl_al.plugins`` entry point) register like built-ins."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from automl_al import registries
from automl_al.cli import main
from automl_al.config import ActiveConfig, Config, ConfigError, load_config
from automl_al.registries import ACQUISITIONS, DROPOUTS, ORACLES, SOURCES
from automl_al.registry import (
    PLUGIN_GROUP,
    PluginError,
    RegisteredName,
    Registry,
    UnknownNameError,
    load_plugins,
)


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for plug-in modules; the modules imported from it are forgotten after."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    before = set(sys.modules)
    yield folder
    for name in set(sys.modules) - before:
        if getattr(sys.modules[name], "__file__", "") and str(folder) in str(sys.modules[name].__file__):
            del sys.modules[name]


def _module(folder: Path, name: str, code: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(code))


# --- the Registry ---------------------------------------------------------------------------------


def test_providers_are_imported_on_first_lookup_only(plugin_dir: Path) -> None:
    _module(plugin_dir, "reg_family_x", """
        from automl_al.registry import Registry
        WIDGETS = Registry("widget", "x.widget", providers=["reg_builtin_x"])
    """)
    _module(plugin_dir, "reg_builtin_x", """
        from reg_family_x import WIDGETS
        WIDGETS.register("spoke", 1)
    """)
    import reg_family_x  # type: ignore[import-not-found]

    assert "reg_builtin_x" not in sys.modules
    assert reg_family_x.WIDGETS.names() == ["spoke"]
    assert "reg_builtin_x" in sys.modules


def test_unknown_names_say_the_key_the_valid_names_and_the_closest() -> None:
    reg: Registry[int] = Registry("widget", "x.widget")
    reg.register("spoke", 1)
    reg.register("rim", 2)
    with pytest.raises(UnknownNameError, match=r"unknown widget 'spok' \(config key x\.widget\); valid names: rim, spoke \(did you mean 'spoke'\?\)"):
        reg.get("spok")


def test_variants_are_derived_from_the_entries_that_declare_them() -> None:
    reg: Registry[int] = Registry("number")
    reg.add_variant("neg_", lambda v: -v, applies=lambda v: v > 0)
    reg.register("one", 1)
    reg.register("zero", 0)
    assert reg.names() == ["neg_one", "one", "zero"]
    assert reg.get("neg_one") == -1 and reg.base_of("neg_one") == "one" and reg.base_of("one") is None
    with pytest.raises(UnknownNameError):
        reg.get("neg_zero")  # zero does not declare it
    with pytest.raises(ValueError, match="'neg_one' is already registered"):
        reg.register("neg_one", 5)  # a derived name is taken like any other
    with pytest.raises(ValueError, match="'neg_one' is already registered"):
        reg.register("neg_" + "one", 7)


def test_temporarily_and_scoped_restore_the_registry() -> None:
    reg: Registry[int] = Registry("widget")
    reg.register("spoke", 1)
    with reg.temporarily("spoke", 10):
        assert reg.get("spoke") == 10
    with reg.scoped():
        reg.register("rim", 2)
        assert "rim" in reg
    assert reg.get("spoke") == 1 and reg.names() == ["spoke"]


def test_registered_name_checks_a_field_when_the_model_loads() -> None:
    reg: Registry[int] = Registry("widget")
    reg.register("spoke", 1)
    reg.register("rim", 0)

    class Part(BaseModel):
        kind: Annotated[str, RegisteredName(reg)] = "spoke"
        moving: Annotated[str, RegisteredName(reg, where=lambda v: v > 0, what="moving widgets")] = "spoke"

    assert Part(kind="rim").kind == "rim"
    with pytest.raises(ValidationError, match=r"unknown widget 'hub'; valid names: rim, spoke"):
        Part(kind="hub")
    with pytest.raises(ValidationError, match=r"widget 'rim' cannot be used here; valid names \(moving widgets\): spoke"):
        Part(moving="rim")
    with reg.temporarily("hub", 3):  # a part registered later is valid at once
        assert Part(kind="hub").kind == "hub"


# --- the config takes its names from the registries ------------------------------------------------


def _field(dotted: str) -> Any:
    section, key = dotted.split(".")
    return Config.model_fields[section].annotation.model_fields[key]


@pytest.mark.parametrize("dotted", sorted(set(registries.ALL) - {"model.arch"}))
def test_every_family_key_is_checked_against_its_registry(dotted: str) -> None:
    """model.arch is left to the compatibility rules, which also know the encoder and the task."""
    info = _field(dotted)
    checks = [m for m in info.metadata if isinstance(m, RegisteredName)]
    assert [c.registry for c in checks] == [registries.ALL[dotted]]
    assert info.default in registries.ALL[dotted], f"{dotted}'s default is not registered"


def test_the_twins_dropout_is_a_placement_that_inserts_dropout() -> None:
    info = ActiveConfig.model_fields["dropout"]
    (check,) = [m for m in info.metadata if isinstance(m, RegisteredName)]
    assert check.registry is DROPOUTS
    assert [n for n in DROPOUTS.names() if check.where is not None and check.where(DROPOUTS.get(n))] == ["decoder", "head"]


def test_importing_the_config_or_the_cli_imports_no_torch() -> None:
    code = "import sys, automl_al.cli, automl_al.config; print(sorted({'torch', 'optuna', 'mlflow'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _bad_config(tmp_path: Path, dotted: str, value: str) -> Path:
    """A folder-source config whose data folder does not exist: reading any data would fail."""
    raw: dict[str, Any] = {"run_dir": str(tmp_path / "run"), "data": {"source": "folder", "path": str(tmp_path / "nowhere")},
                           "tracking": {"enabled": False}}
    section, key = dotted.split(".")
    raw.setdefault(section, {})[key] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("dotted", "typo", "meant", "registry"),
    [
        ("active.acquisition", "mfee", "mfe", ACQUISITIONS),
        ("active.oracle", "simulatd", "simulated", ORACLES),
        ("data.source", "foldr", "folder", SOURCES),
    ],
)
def test_a_misspelt_name_is_refused_when_the_config_loads_before_any_data_is_read(
    dotted: str, typo: str, meant: str, registry: Registry[Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import automl_al.data

    read: list[object] = []
    monkeypatch.setattr(automl_al.data, "prepare_data", lambda *a, **k: read.append(a))
    config = _bad_config(tmp_path, dotted, typo)
    assert main(["learn", str(config), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(config) in err and f"{dotted}: unknown {registry.kind} '{typo}'" in err
    assert f"valid names: {', '.join(registry.names())} (did you mean '{meant}'?)" in err
    assert "nowhere" not in err and not read and not (tmp_path / "run").exists()  # nothing read or written


# --- plug-ins --------------------------------------------------------------------------------------

ORACLE_PLUGIN = """
    from automl_al.active.oracles import SimulatedOracle, register_oracle

    class Echo(SimulatedOracle):
        name = "{name}"

    register_oracle(Echo.name, lambda prepared, cfg: Echo(prepared))
"""


def test_the_plugins_key_imports_modules_before_the_names_are_checked(plugin_dir: Path, tmp_path: Path) -> None:
    _module(plugin_dir, "reg_plugin_echo", ORACLE_PLUGIN.format(name="echo_key"))
    path = tmp_path / "config.yaml"
    path.write_text("plugins: [reg_plugin_echo]\nactive:\n  oracle: echo_key\n")
    with ORACLES.scoped():
        cfg = load_config(path)
        assert cfg.active.oracle == "echo_key" and cfg.plugins == ["reg_plugin_echo"]
    path.write_text("plugins: [no_such_plugin]\n")
    with pytest.raises(ConfigError, match=rf"{path}: plugins: cannot import plug-in module 'no_such_plugin'.*PYTHONPATH"):
        load_config(path)


def test_a_plugin_that_fails_to_import_is_named(plugin_dir: Path) -> None:
    _module(plugin_dir, "reg_plugin_clash", ORACLE_PLUGIN.format(name="simulated"))
    with pytest.raises(ConfigError, match=r"plug-in module 'reg_plugin_clash' failed to import: ValueError: oracle 'simulated' is already registered"):
        load_config(None, ["plugins=[reg_plugin_clash]"])


def _entry_point(folder: Path, dist: str, value: str) -> None:
    """An installed distribution's metadata, as pip writes it, declaring one automl_al.plugins entry point."""
    info = folder / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{PLUGIN_GROUP}]\n{dist} = {value}\n")


def test_an_entry_point_registers_its_parts_on_first_use(plugin_dir: Path) -> None:
    _module(plugin_dir, "reg_plugin_ep", ORACLE_PLUGIN.format(name="echo_ep"))
    _entry_point(plugin_dir, "reg_plugin_ep_dist", "reg_plugin_ep")
    with ORACLES.scoped():
        assert load_plugins() == ["reg_plugin_ep_dist = reg_plugin_ep"]
        assert "echo_ep" in ORACLES
        assert load_plugins() == []  # once per process
        assert Config.model_validate({"active": {"oracle": "echo_ep"}}).active.oracle == "echo_ep"


def test_a_broken_entry_point_is_an_error_naming_it(plugin_dir: Path) -> None:
    _entry_point(plugin_dir, "reg_plugin_missing_dist", "reg_plugin_not_there")
    with pytest.raises(PluginError, match=r"plug-in 'reg_plugin_missing_dist = reg_plugin_not_there' .*failed to load.*uninstall"):
        load_plugins()
