"""What a script prints on stdout, told apart from what Lightning prints on the same stream.

Runs inside a verify child process (standard library only). :class:`Capture` replaces
``sys.stdout``: every write still reaches the real stream (the run's log), and the writes that are
the script's own are also kept, in segments labelled by what the runner is doing (``None`` while
the script runs, ``"validate 1"`` during the first ``Trainer.validate`` of an evaluation run...).

Whose write is it? Decided by who called, not by what the text looks like:

* a write from ``logging`` belongs to the logger that made the record: Lightning's loggers
  (``lightning.pytorch.*``, ``pytorch_lightning.*``, ``lightning_fabric.*``...) are Lightning's
  ("GPU available: ...", the model summary, "`Trainer.fit` stopped: ..."), any other the script's;
* otherwise the innermost calling frame that is not plumbing decides. Plumbing is the standard
  library, ``tqdm`` and ``rich`` (they write for whoever called them) and Lightning's own
  ``print`` functions (``LightningModule.print``, ``Fabric.print`` forward the script's text). A
  frame in Lightning's packages makes the write Lightning's (the results table of
  ``trainer.test``...), any other frame the script's (``print`` is a builtin: the frame that
  called it is the script's);
* a write made by a progress bar (a method of a ``tqdm`` or ``rich.progress``/``rich.live``
  object on the stack: drawing, clearing and redrawing a bar around a ``tqdm.write``) is nobody's
  to compare, whoever drives the bar: bars show rates and times. So is a write with only plumbing
  on the stack (a refresh thread).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import sysconfig

#: Packages whose output and loggers are Lightning's, not the script's.
LIGHTNING_PACKAGES = (
    "lightning",
    "pytorch_lightning",
    "lightning_fabric",
    "lightning_utilities",
    "torchmetrics",
)
#: Libraries that write on behalf of their caller.
PLUMBING_PACKAGES = ("tqdm", "rich")
#: Modules whose objects draw progress bars: what they write is never compared (a bar shows rates
#: and times), whoever drives them.
PROGRESS_MODULES = ("tqdm", "rich.progress", "rich.live")

SCRIPT, LIGHTNING, NOBODY = "script", "lightning", "nobody"


def _package_dirs(names: tuple[str, ...]) -> tuple[str, ...]:
    dirs = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)  # a top-level name: nothing is imported
        except (ImportError, ValueError):
            continue
        for location in (spec and spec.submodule_search_locations) or ():
            dirs.append(os.path.realpath(location) + os.sep)
    return tuple(dirs)


class _Origins:
    """Classifies writes by their callers' files (cached per code file)."""

    def __init__(self) -> None:
        self.lightning = _package_dirs(LIGHTNING_PACKAGES)
        stdlib = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")}
        self.plumbing = _package_dirs(PLUMBING_PACKAGES) + tuple(
            os.path.realpath(p) + os.sep for p in stdlib
        )
        self.logging_file = os.path.realpath(logging.__file__)
        self._kinds: dict[str, str] = {}

    def _kind(self, filename: str) -> str:
        kind = self._kinds.get(filename)
        if kind is None:
            path = os.path.realpath(filename) if not filename.startswith("<") else filename
            if path == self.logging_file:
                kind = "logging"
            elif path.startswith(self.lightning):
                kind = LIGHTNING
            elif path.startswith(self.plumbing) or filename.startswith("<frozen"):
                kind = "plumbing"
            else:
                kind = SCRIPT
            self._kinds[filename] = kind
        return kind

    def of(self, frame) -> str:
        while frame is not None:
            code = frame.f_code
            kind = self._kind(code.co_filename)
            if kind != SCRIPT and _is_progress_bar(frame.f_locals.get("self")):
                return NOBODY
            if kind == "logging":
                record = frame.f_locals.get("record")
                if isinstance(record, logging.LogRecord):
                    top = record.name.split(".")[0]
                    return LIGHTNING if top in LIGHTNING_PACKAGES else SCRIPT
            if kind == LIGHTNING and code.co_name != "print":
                return LIGHTNING
            if kind == SCRIPT:
                return SCRIPT
            frame = frame.f_back
        return NOBODY


def _is_progress_bar(obj) -> bool:
    if obj is None:
        return False
    for cls in type(obj).__mro__:
        module = getattr(cls, "__module__", "") or ""
        if module.startswith(PROGRESS_MODULES):
            return True
    return False


class Capture:
    """A ``sys.stdout`` stand-in that passes everything on and keeps the script's own text."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._origins = _Origins()
        self.label: str | None = None
        #: ``[label, text]`` pieces in the order they were printed
        self.segments: list[list] = []

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        if text and self._origins.of(sys._getframe(1)) == SCRIPT:
            if self.segments and self.segments[-1][0] == self.label:
                self.segments[-1][1] += text
            else:
                self.segments.append([self.label, text])
        return written

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str):  # encoding, fileno, isatty, buffer...
        return getattr(self._stream, name)

    def install(self) -> None:
        sys.stdout = self

    def uninstall(self) -> None:
        if sys.stdout is self:
            sys.stdout = self._stream
