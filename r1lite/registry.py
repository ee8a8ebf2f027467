"""One plugin registry for reward rules and tasks.

Objects register by name with a decorator, and users load their own without touching
r1lite: ``path/to/file.py:obj``, ``package.module:obj`` or a Python entry point in the
group the registry names (``r1lite.rewards``, ``r1lite.tasks``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


class RegistryError(KeyError):
    """Unknown name or unloadable spec; the message lists what is available."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Name -> object map with plugin loading.

    ``kind`` is used in error messages ("reward rule"), ``group`` is the entry-point group.
    ``builtins`` is a module whose import registers the built-in objects (done lazily so
    that importing the registry stays cheap).
    """

    def __init__(self, kind: str, group: str, builtins: str | None = None) -> None:
        self.kind, self.group, self._builtins = kind, group, builtins
        self._items: dict[str, T] = {}
        self._loaded_builtins = False
        self._loaded_entry_points = False

    def register(self, name: str, *, overwrite: bool = False) -> Callable[[T], T]:
        """Decorator: ``@registry.register("name")``."""

        def deco(obj: T) -> T:
            self.add(name, obj, overwrite=overwrite)
            return obj

        return deco

    def add(self, name: str, obj: T, *, overwrite: bool = False) -> None:
        if not name or not isinstance(name, str):
            raise ValueError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if name in self._items and self._items[name] is not obj and not overwrite:
            raise ValueError(
                f"{self.kind} {name!r} is already registered; pick another name or pass overwrite=True"
            )
        self._items[name] = obj

    def _ensure_loaded(self) -> None:
        if not self._loaded_builtins and self._builtins:
            self._loaded_builtins = True
            importlib.import_module(self._builtins)
        if not self._loaded_entry_points:
            self._loaded_entry_points = True
            for ep in entry_points(group=self.group):
                if ep.name not in self._items:
                    try:
                        self._items[ep.name] = ep.load()
                    except Exception as exc:  # a broken plugin must not break the built-ins
                        print(f"warning: could not load {self.kind} entry point {ep.name!r}: {exc}",
                              file=sys.stderr)

    def names(self) -> list[str]:
        self._ensure_loaded()
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        self._ensure_loaded()
        yield from sorted(self._items.items())

    def __contains__(self, name: str) -> bool:
        self._ensure_loaded()
        return name in self._items

    def get(self, spec: str) -> T:
        """Look up a registered name, or load ``file.py:obj`` / ``package.module:obj``."""
        if not isinstance(spec, str) or not spec.strip():
            raise RegistryError(f"empty {self.kind} name; available: {', '.join(self.names())}")
        spec = spec.strip()
        self._ensure_loaded()
        if spec in self._items:
            return self._items[spec]
        if ":" in spec:
            return load_object(spec, self.kind)
        raise RegistryError(
            f"unknown {self.kind} {spec!r}. Available: {', '.join(self.names())}. "
            f"Load your own as 'path/to/file.py:name' or 'package.module:name', "
            f"or register an entry point in the group {self.group!r}."
        )


def load_object(spec: str, kind: str = "object") -> object:
    """Load ``path/to/file.py:attr`` or ``package.module:attr`` (attr may be dotted)."""
    target, _, attr = spec.rpartition(":")
    if not target or not attr:
        raise RegistryError(f"bad {kind} spec {spec!r}: expected 'file.py:name' or 'module:name'")
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise RegistryError(f"{kind} file not found: {path} (from spec {spec!r})")
        mod_name = f"r1lite_user_{path.stem}_{abs(hash(str(path)))}"
        module = sys.modules.get(mod_name)
        if module is None:
            file_spec = importlib.util.spec_from_file_location(mod_name, path)
            if file_spec is None or file_spec.loader is None:
                raise RegistryError(f"cannot import {kind} file {path}")
            module = importlib.util.module_from_spec(file_spec)
            sys.modules[mod_name] = module
            try:
                file_spec.loader.exec_module(module)
            except Exception:
                del sys.modules[mod_name]
                raise
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise RegistryError(f"cannot import module {target!r} for {kind} {spec!r}: {exc}") from exc
    obj: object = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise RegistryError(f"{target!r} has no attribute {attr!r} (from {kind} spec {spec!r})")
        obj = getattr(obj, part)
    return obj
