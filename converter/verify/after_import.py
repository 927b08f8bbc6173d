"""A hook that runs right after a module is imported, whenever the script imports it.

Runs inside a verify child process: the runner patches what the script will use (Lightning's
Trainer, torch's inductor settings) without importing it ahead of the script.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys


class AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``callback(module)`` right after one of ``names`` is executed."""

    def __init__(self, names: tuple[str, ...], callback) -> None:
        self.names, self.callback = names, callback

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader, callback = spec.loader, self.callback

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                callback(module)

        spec.loader = Loader()
        return spec


def after_import(names: str | tuple[str, ...], callback) -> None:
    """``callback(module)`` for each of ``names`` imported already, and right after the script
    imports one (again)."""
    names = (names,) if isinstance(names, str) else names
    for name in names:
        if name in sys.modules:
            callback(sys.modules[name])
    sys.meta_path.insert(0, AfterImport(names, callback))
