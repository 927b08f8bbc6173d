"""The files a process opens for writing: how a rank other than 0 of a ``--devices`` run is
caught writing what rank 0 writes.

The N processes of a ``--devices`` run share one working directory, as under ``torchrun``, so
that a script reading back after training what it saved (``torch.load("net.pt")``) finds rank 0's
file. Who wrote a file then is told by the writing, not by the folder: an audit hook sees every
``open`` of Python code (``open``, ``io.open``, ``os.open``, which PIL and numpy use), and
``torch.save`` to a path, which writes from C++, is wrapped. Runs inside a verify child process.
"""

from __future__ import annotations

import os
import sys

_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class OpenedForWriting:
    def __init__(self) -> None:
        self.paths: set[str] = set()
        self.active = False

    def install(self) -> None:
        self.active = True
        sys.addaudithook(self._audit)  # never removed: `active` turns it off

    def watch_torch_save(self, torch) -> None:
        """``torch.save(obj, "model.pt")`` opens its file in C++: no audit event."""
        save = torch.save

        def recorded_save(obj, f, *args, **kwargs):
            if isinstance(f, (str, bytes, os.PathLike)):
                self._note(f)
            return save(obj, f, *args, **kwargs)

        torch.save = recorded_save

    def uninstall(self) -> None:
        self.active = False

    def relative(self, cwd: str, skip: list[str]) -> list[str]:
        """The files written under ``cwd``, relative, outside the ``skip`` folders."""
        root = os.path.realpath(cwd)
        found = set()
        for path in self.paths:
            rel = os.path.relpath(path, root)
            if rel.startswith(os.pardir) or not os.path.isfile(path):
                continue
            inside = (os.path.realpath(s) for s in skip)
            if not any(path == s or path.startswith(s + os.sep) for s in inside):
                if "__pycache__" not in rel.split(os.sep):
                    found.add(rel)
        return sorted(found)

    def _audit(self, event: str, args: tuple) -> None:
        if not self.active or event != "open" or len(args) < 3:
            return
        path, mode, flags = args[0], args[1], args[2]
        if isinstance(path, int):  # an open file descriptor
            return
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITES)
        if writes:
            self._note(path)

    def _note(self, path) -> None:
        try:
            self.paths.add(os.path.realpath(os.fsdecode(path)))
        except (TypeError, ValueError):
            pass
