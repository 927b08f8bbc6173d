"""Writing files atomically, and holding signals while a write is under way.

Every write replaces its target in one step (a temporary file next to it, then ``os.replace``):
whatever stops the process, short of SIGKILL or a power cut, the target holds either its old
content or the new, and no temporary file is left behind. Nothing here imports LibCST or torch.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from converter.files import ReadProblem, not_regular

_umask: int | None = None
DEFERRED_SIGNALS = {
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
}


def _default_mode() -> int:
    global _umask
    if _umask is None:
        _umask = os.umask(0)
        os.umask(_umask)
    return 0o666 & ~_umask


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block is over (POSIX; elsewhere a no-op).

    What the block does then happens entirely or not at all: a signal's default action (SIGTERM
    kills without any clean-up) or its ``KeyboardInterrupt`` comes after it. Blocks nest.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path``'s content with ``data`` in one step.

    The bytes go to a temporary file in the same folder, are flushed to disk, get the mode of the
    file being replaced (or ``mode``), then ``os.replace`` swaps it in, all with signals deferred:
    whatever interrupts this (Ctrl-C, SIGTERM, an error), ``path`` holds either its old content
    or ``data``, and no temporary file is left behind (only SIGKILL or a power cut can leave one).
    A symlink is followed: the file it points to is replaced, the link stays. A hard link is not:
    ``path`` becomes a new file, and the file's other names keep the old content.
    """
    with signals_deferred():
        _replace(path, lambda handle: handle.write(data), mode)


def copy_file(src: Path, dest: Path) -> None:
    """Copy the regular file ``src`` to ``dest`` atomically, with its mode (creating ``dest``'s
    folders). The copy streams (any size); Ctrl-C or SIGTERM while it runs removes the temporary
    file (in the main process, where the command line turns both into an exception)."""
    mode = os.stat(src).st_mode
    if not stat.S_ISREG(mode):
        raise ReadProblem(not_regular(mode))
    fd = os.open(src, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as source:
        st = os.fstat(source.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ReadProblem(not_regular(st.st_mode))
        dest.parent.mkdir(parents=True, exist_ok=True)
        _replace(
            dest,
            lambda handle: shutil.copyfileobj(source, handle, 1 << 20),
            stat.S_IMODE(st.st_mode),
        )


def write_report(path: Path, data: bytes) -> None:
    """Write a report: atomically to a regular file; straight into a device or a named pipe that
    already exists (``/dev/stdout``, a pipe with a reader; one without a reader is an error rather
    than a wait)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = stat.S_IFREG
    if stat.S_ISREG(mode):
        atomic_write(path, data)
        return
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0))
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _replace(path: Path, fill: Callable[[BinaryIO], object], mode: int | None) -> None:
    target = Path(os.path.realpath(path))
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    if mode is None:
        mode = stat.S_IMODE(st.st_mode) if st is not None else _default_mode()
    while True:
        # The name is known before the file exists, so an interrupt at any point can remove it.
        tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.t2l-tmp"
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600
            )
            break
        except FileExistsError:
            continue
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if st is not None and hasattr(os, "chown") and st.st_uid != os.geteuid():
            with contextlib.suppress(OSError):
                os.chown(tmp, st.st_uid, st.st_gid)
        with signals_deferred():
            os.replace(tmp, target)
            tmp = None
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
