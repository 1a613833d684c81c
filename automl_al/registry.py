"""One name -> object registry for every family of interchangeable parts.

Every part chosen by name in the config (acquisitions, reductions, oracles, data sources, losses,
samplers, ...) lives in a :class:`Registry`; the families are declared in
:mod:`automl_al.registries`. The registry is the only list of a family's names: the config checks a
name against it when it loads (:class:`RegisteredName`), so a typo fails before any data is read
and a part registered by a plug-in is accepted like a built-in. Unknown names list the valid ones
and duplicate registrations are errors (timm only warns), so a typo or a plug-in clash surfaces at
once instead of silently picking another part.

Built-in parts register themselves when their module is imported; a registry imports those
modules (its ``providers``) on first lookup, so importing the config costs no torch import.
Plug-ins from outside the package register the same way, from a module named in the
``automl_al.plugins`` entry-point group (:func:`load_plugins`, run on first lookup) or in the
config's ``plugins`` key.

Example:
    >>> LOSSES: Registry[str] = Registry("loss", config_key="train.loss")
    >>> @LOSSES.register("dice")
    ... def dice() -> str:
    ...     return "dice"
    >>> LOSSES.get("dice")()
    'dice'
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, Generic, TypeVar

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from automl_al.errors import AutomlAlError

T = TypeVar("T")

PLUGIN_GROUP = "automl_al.plugins"
_loaded_plugins: set[str] = set()  # entry points already loaded in this process, "name = value"


class UnknownNameError(AutomlAlError, KeyError, ValueError):
    """A name that no entry of the family carries; both a KeyError and a ValueError for callers."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class PluginError(AutomlAlError, ImportError):
    """A plug-in (entry point or ``plugins`` key) that cannot be imported."""


@dataclass(frozen=True)
class _Variant(Generic[T]):
    """``prefix + name`` for every entry that ``applies`` to, resolving to ``derive(entry)``."""

    prefix: str
    derive: Callable[[T], T]
    applies: Callable[[T], bool]


class Registry(Generic[T]):
    """Named entries of one family; ``kind`` and ``config_key`` name it in error messages.

    ``providers`` are the modules whose import registers the built-in entries; they are imported
    on the first lookup (with the plug-ins), never at construction.
    """

    def __init__(self, kind: str, config_key: str | None = None, *, providers: Sequence[str] = ()) -> None:
        self.kind = kind
        self.config_key = config_key
        self._providers = tuple(providers)
        self._entries: dict[str, T] = {}
        self._variants: list[_Variant[T]] = []
        self._derived: dict[str, T] = {}  # variants built so far, so one name keeps one object
        self._loaded = False

    def register(self, name: str, entry: Any = None) -> Any:
        """Add ``entry`` under ``name``; without ``entry`` it returns a decorator that does."""

        def add(value: T) -> T:
            taken = [n for n in (name, *self._variant_names(name, value)) if n in self._all_names()]
            if taken:
                raise ValueError(
                    f"{self.kind} {taken[0]!r} is already registered; pick another name "
                    f"(registered: {', '.join(sorted(self._all_names()))})"
                )
            self._entries[name] = value
            self._derived.clear()
            return value

        return add if entry is None else add(entry)

    def add_variant(self, prefix: str, derive: Callable[[T], T], *, applies: Callable[[T], bool]) -> None:
        """Also offer ``prefix + name`` for each entry that ``applies`` to (now or registered later),
        resolved to ``derive(entry)``: the entry declares it, nobody parses names."""
        self._variants.append(_Variant(prefix, derive, applies))
        self._derived.clear()

    def get(self, name: str) -> T:
        self._load()
        if name in self._entries:
            return self._entries[name]
        if name not in self._derived:
            variant, base = self._variant_of(name)
            self._derived[name] = variant.derive(self._entries[base])
        return self._derived[name]

    def names(self) -> list[str]:
        self._load()
        return sorted(self._all_names())

    def base_of(self, name: str) -> str | None:
        """The entry a variant name was derived from (``mi`` for ``power_mi``); None for an entry."""
        self._load()
        return None if name in self._entries else self._variant_of(name)[1]

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._all_names()

    def unknown_message(self, name: str, names: Sequence[str] | None = None, *, where: str = "", what: str = "") -> str:
        """``unknown <kind> 'x'<where>; valid names<what>: ...`` and the closest valid name, if one is
        close; ``names`` narrows the valid ones (a registered name outside it "cannot be used here")."""
        valid = list(self.names() if names is None else names)
        close = difflib.get_close_matches(name, valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        lead = f"{self.kind} {name!r}{where} cannot be used here" if name in self._all_names() else f"unknown {self.kind} {name!r}{where}"
        return f"{lead}; valid names{what}: {', '.join(valid)}{hint}"

    @contextmanager
    def temporarily(self, name: str, entry: T) -> Iterator[T]:
        """``entry`` under ``name`` inside the ``with`` block only, replacing a registered one there;
        for tests, instead of patching the registry's private dict."""
        with self.scoped():
            self._entries.pop(name, None)
            self.register(name, entry)
            yield entry

    @contextmanager
    def scoped(self) -> Iterator[Registry[T]]:
        """Whatever is registered inside the ``with`` block is gone after it (tests, plug-in trials)."""
        self._load()
        entries, variants = dict(self._entries), list(self._variants)
        try:
            yield self
        finally:
            self._entries, self._variants = entries, variants
            self._derived.clear()

    def _load(self) -> None:
        """Import the providers and the plug-ins once; flagged first, so that a provider that looks a
        name up while it imports sees the entries registered so far instead of recursing."""
        if self._loaded:
            return
        self._loaded = True
        try:
            for module in self._providers:
                importlib.import_module(module)
        except BaseException:
            self._loaded = False
            raise
        load_plugins()

    def _all_names(self) -> set[str]:
        names = set(self._entries)
        for name, entry in self._entries.items():
            names.update(self._variant_names(name, entry))
        return names

    def _variant_names(self, name: str, entry: T) -> list[str]:
        return [v.prefix + name for v in self._variants if v.applies(entry)]

    def _variant_of(self, name: str) -> tuple[_Variant[T], str]:
        for base, entry in self._entries.items():
            for variant in self._variants:
                if variant.prefix + base == name and variant.applies(entry):
                    return variant, base
        where = f" (config key {self.config_key})" if self.config_key else ""
        raise UnknownNameError(self.unknown_message(name, sorted(self._all_names()), where=where))


def load_plugins() -> list[str]:
    """Import every module named in the ``automl_al.plugins`` entry-point group not imported yet;
    an entry point naming a function (``pkg.mod:setup``) has it called once. Returns what it loaded.

    A plug-in's package declares, in its ``pyproject.toml``::

        [project.entry-points."automl_al.plugins"]
        my_parts = "my_package.automl_parts"
    """
    loaded = []
    for point in entry_points(group=PLUGIN_GROUP):
        key = f"{point.name} = {point.value}"
        if key in _loaded_plugins:
            continue
        _loaded_plugins.add(key)
        try:
            obj = point.load()
            if callable(obj) and not isinstance(obj, ModuleType):
                obj()
        except Exception as e:
            raise PluginError(
                f"plug-in {key!r} (entry-point group {PLUGIN_GROUP}) failed to load: {type(e).__name__}: {e}; "
                "fix it or uninstall the package that declares it"
            ) from e
        loaded.append(key)
    return loaded


def import_plugins(modules: Sequence[str], key: str = "plugins") -> None:
    """Import the config's ``plugins`` (module names on ``sys.path``) so that they register their parts."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            raise PluginError(
                f"{key}: cannot import plug-in module {module!r} ({e}); it must be importable: installed, "
                "or its folder on PYTHONPATH"
            ) from e
        except Exception as e:  # the module's own error (a name clash, a bug): say whose it is
            raise PluginError(f"{key}: plug-in module {module!r} failed to import: {type(e).__name__}: {e}") from e


@dataclass(frozen=True)
class RegisteredName:
    """A pydantic marker for a config field that takes a name of ``registry``'s family, checked when
    the config loads: ``acquisition: Annotated[str, RegisteredName(ACQUISITIONS)] = "mfe"``.

    ``where`` narrows the family (e.g. dropout placements that insert dropout) and ``what`` says
    which part of it is valid in the error. Defaults are not validated (pydantic's default), so a
    config that leaves the key out imports nothing.
    """

    registry: Registry[Any]
    where: Callable[[Any], bool] | None = None
    what: str = ""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def check(self, name: str) -> str:
        names = self.registry.names()
        if self.where is not None:
            names = [n for n in names if self.where(self.registry.get(n))]
        if name not in names:
            what = f" ({self.what})" if self.what else ""
            raise PydanticCustomError("registered_name", self.registry.unknown_message(name, names, what=what))
        return name


__all__ = [
    "PLUGIN_GROUP",
    "PluginError",
    "RegisteredName",
    "Registry",
    "UnknownNameError",
    "import_plugins",
    "load_plugins",
]
