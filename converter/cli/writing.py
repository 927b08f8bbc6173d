"""Writing files atomically, and holding signals while a write is under way.

Every write replaces its target in one step (a temporary file next to it, then ``os.replace``):
whatever stops the process, short of SIGKILL or a power cut, the target holds either its old
content or the new, and no temporary file is left behind. Nothing here imports LibCST or torch.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from converter.files import ReadProblem, kind_of, not_regular
from converter.signals import signals_deferred

_umask: int | None = None


def output_mode(input_mode: int | None) -> int:
    """The mode of a new output file (``-o``): the input's permission bits as ``cp`` gives them
    (less the umask; no set-user-ID, set-group-ID or sticky bit), and writable by its owner, so
    that a read-only input does not make a read-only output."""
    if input_mode is None:
        return _default_mode()
    _default_mode()  # reads the umask once
    assert _umask is not None
    return (stat.S_IMODE(input_mode) & 0o777 & ~_umask) | stat.S_IWUSR


def _default_mode() -> int:
    global _umask
    if _umask is None:
        _umask = os.umask(0)
        os.umask(_umask)
    return 0o666 & ~_umask


class NotWritten(Exception):
    """The file was left as it is; the message says why in a line (it changed since it was read,
    it is read-only...)."""


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path``'s content with ``data`` in one step.

    The bytes go to a temporary file in the same folder, are flushed to disk, get the mode, owner,
    group and extended attributes (ACLs included) of the file being replaced (or ``mode`` for a
    new one), then ``os.replace`` swaps it in, all with signals deferred: whatever interrupts this
    (Ctrl-C, SIGTERM, an error), ``path`` holds either its old content or ``data``, and no
    temporary file is left behind (only SIGKILL or a power cut can leave one). A symlink is
    followed: the file it points to is replaced, the link stays. A hard link is not: ``path``
    becomes a new file, and the file's other names keep the old content.
    """
    target = Path(os.path.realpath(path))
    with signals_deferred():
        _replace(target, lambda handle: handle.write(data), mode, _stat_or_none(target))


def replace_if_unchanged(path: Path, data: bytes, read: bytes, read_stat: os.stat_result) -> None:
    """:func:`atomic_write`, only if ``path`` is still the file that was read (``read``, its
    bytes, and ``read_stat``, its ``fstat`` when it was read): the same file (device and inode),
    with the same bytes. Raises :class:`NotWritten` otherwise, and for a read-only file.

    An edit saved while the file was being converted, or another run that converted it first,
    is kept, not overwritten with the conversion of the old text. Two runs of this tool check and
    replace under an exclusive ``flock`` of the file (POSIX), so one of them always sees the
    other's write; any other writer would have to land in the microseconds between the check and
    the replace.
    """
    target = Path(os.path.realpath(path))
    with signals_deferred():
        try:
            fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _BINARY)
        except FileNotFoundError:
            raise NotWritten(GONE) from None
        try:
            _lock(fd)
            held = os.fstat(fd)
            now = _stat_or_none(target)
            if now is None:
                raise NotWritten(GONE)
            if not (os.path.samestat(held, now) and os.path.samestat(held, read_stat)):
                raise NotWritten(CHANGED)
            if held.st_size != len(read) or _read_fd(fd, len(read) + 1) != read:
                raise NotWritten(CHANGED)
            refused = read_only(held, target)
            if refused:
                raise NotWritten(refused)
            _replace(target, lambda handle: handle.write(data), None, held)
        finally:
            os.close(fd)  # releases the lock


def write_output(path: Path, data: bytes, new_mode: int) -> str:
    """Write an output file of ``-o``, which is not an input (checked before the run): a
    symlink at ``path`` is replaced by the file, never followed (it could point anywhere); an
    existing file is replaced, keeping its mode, owner and extended attributes, unless it is
    read-only (:class:`NotWritten`); a new file gets ``new_mode``. Returns what was replaced, for
    the file's line (``''`` for a new file)."""
    return _write_output(path, lambda handle: handle.write(data), new_mode)


def _write_output(path: Path, fill: Callable[[BinaryIO], object], new_mode: int) -> str:
    folder = Path(os.path.realpath(path.parent))
    target = folder / path.name
    try:
        st: os.stat_result | None = os.lstat(target)
    except FileNotFoundError:
        st = None
    said = ""
    if st is not None and stat.S_ISLNK(st.st_mode):
        said = f"replaced the symlink {path} (to {os.readlink(target)}), not followed"
        st = None
    elif st is not None and not stat.S_ISREG(st.st_mode):
        raise NotWritten(f"{path} exists and is {kind_of(st.st_mode)}; left as it is")
    elif st is not None:
        refused = read_only(st, target)
        if refused:
            raise NotWritten(f"{path} {refused}")
        said = f"replaced the existing {path}"
        if st.st_nlink > 1:
            said += f" (it had {st.st_nlink} hard links: the other names keep the old file)"
    _replace(target, fill, new_mode, st)
    return said


GONE = "it was removed while it was being converted; nothing written"
CHANGED = (
    "it changed on disk while it was being converted (an edit, or another run); left as it is "
    "now, with that change: convert it again"
)


def read_only(st: os.stat_result, path: Path) -> str:
    """Why a file may not be rewritten in place ('' when it may): this user may not write it, or
    its mode gives no one the right to (a file made read-only on purpose, which even root, who
    may write anything, leaves alone, as black and ruff do for everyone else)."""
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o222 == 0 or not os.access(path, os.W_OK):
        return f"is read-only (mode {mode:o}); left as it is: make it writable to convert it"
    return ""


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


_BINARY = getattr(os, "O_BINARY", 0)
#: How long to wait for another run's lock on a file (it holds it for a check and a rename).
_LOCK_WAIT_S = 10.0


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the check alone still applies
        return
    waited = 0.0
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if waited >= _LOCK_WAIT_S:
                raise NotWritten(
                    "another program holds a lock on it; left as it is: convert it again"
                ) from None
            time.sleep(0.05)
            waited += 0.05
        except OSError:  # a file system without flock (some network mounts): check only
            return


def _read_fd(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(fd, min(1 << 20, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def copy_file(src: Path, dest: Path) -> None:
    """Copy the regular file ``src`` to ``dest`` atomically (creating ``dest``'s folders), as
    :func:`write_output` writes, with the mode :func:`output_mode` gives. The copy streams (any
    size); Ctrl-C or SIGTERM while it runs removes the temporary file (in the main process,
    where the command line turns both into an exception)."""
    mode = os.stat(src).st_mode
    if not stat.S_ISREG(mode):
        raise ReadProblem(not_regular(mode))
    fd = os.open(src, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as source:
        st = os.fstat(source.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ReadProblem(not_regular(st.st_mode))
        dest.parent.mkdir(parents=True, exist_ok=True)
        import shutil  # here: converting a file never needs it (start-up time)

        fill = lambda handle: shutil.copyfileobj(source, handle, 1 << 20)  # noqa: E731
        _write_output(dest, fill, output_mode(st.st_mode))


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


def _replace(
    target: Path, fill: Callable[[BinaryIO], object], mode: int | None, like: os.stat_result | None
) -> None:
    """Fill a temporary file beside ``target`` and rename it over ``target`` (no symlink is
    followed here: callers resolve what they mean). ``like``: the stat of the file replaced,
    whose mode, owner, group and extended attributes the new file gets; else ``mode`` (or the
    default mode)."""
    if like is not None:
        mode = stat.S_IMODE(like.st_mode)
    elif mode is None:
        mode = _default_mode()
    while True:
        # The name is known before the file exists, so an interrupt at any point can remove it.
        tmp = target.parent / f".{target.name}.{os.urandom(4).hex()}.t2l-tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o600)
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
            if like is not None:
                _keep_owner(handle.fileno(), like)
            os.chmod(handle.fileno() if os.chmod in os.supports_fd else tmp, mode)
            if like is not None:
                _keep_xattrs(target, handle.fileno())
        with signals_deferred():
            os.replace(tmp, target)
            tmp = None
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


def _keep_owner(fd: int, like: os.stat_result) -> None:
    """The replaced file's owner and group, where this user may give them (root may; anyone may
    give a file a group they belong to); otherwise the new file stays this user's."""
    if not hasattr(os, "fchown"):
        return
    own = os.fstat(fd)
    if (own.st_uid, own.st_gid) == (like.st_uid, like.st_gid):
        return
    try:
        os.fchown(fd, like.st_uid, like.st_gid)
    except OSError:
        with contextlib.suppress(OSError):
            os.fchown(fd, -1, like.st_gid)


def _keep_xattrs(source: Path, fd: int) -> None:
    """The replaced file's extended attributes (Linux), POSIX ACLs among them
    (``system.posix_acl_access``): each that this user may set, after the mode, since an ACL
    sets the group bits of the mode."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(source)
    except OSError:
        return
    for name in names:
        with contextlib.suppress(OSError):
            os.setxattr(fd, name, os.getxattr(source, name))
