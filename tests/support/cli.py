"""Running the command line as users do: a child process on real files.

Shared by the tests of hostile input (``test_reliability.py``, ``test_adversarial.py``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TEMP_SUFFIX = ".t2l-tmp"


def child_env() -> dict[str, str]:
    """The environment for a child: this checkout first on the import path, no colors."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def command(*args) -> list:
    return [sys.executable, "-m", "converter", *args]


def cli(*args, cwd: Path, stdin: bytes | None = None, timeout: float = 120, **kw):
    return subprocess.run(
        command(*args),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=child_env(),
        **kw,
    )


def first_line(proc) -> bytes:
    """Read a child's stderr up to the first newline without buffering more: ``communicate``
    reads the pipe's file descriptor directly, so what a buffered ``readline`` took in beyond the
    line would be lost."""
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(proc.stderr.fileno(), 1)
        if not byte:
            break
        line += byte
    return line


def err_of(proc) -> str:
    return proc.stderr.decode("utf-8", "replace")


def snapshot(tree: Path) -> dict[str, bytes]:
    """Every regular file under ``tree`` (relative path -> bytes); other entries by kind."""
    out: dict[str, bytes] = {}
    for dirpath, _dirnames, filenames in os.walk(tree):
        for name in filenames:
            path = Path(dirpath) / name
            key = os.fsdecode(os.path.relpath(path, tree))
            if path.is_symlink() or not path.is_file():
                out[key] = b"<not a regular file>"
            else:
                out[key] = path.read_bytes()
    return out


def temp_files(tree: Path) -> list[Path]:
    return [p for p in tree.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


def converting_source() -> str:
    """A training script the converter rewrites (a golden case's input)."""
    from converter import convert_source

    for path in sorted((ROOT / "tests" / "golden").glob("*.in.py")):
        source = path.read_text(encoding="utf-8")
        try:
            if convert_source(source, filename=path.name).changed:
                return source
        except Exception:  # noqa: BLE001 - a case the converter cannot take yet
            continue
    pytest.skip("convert_source converts none of the golden inputs")


_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2
_PR_CAPBSET_DROP = 24


def without_file_permission_override():
    """``preexec_fn`` that makes a child obey file modes even when it runs as root.

    Root passes every permission check through two capabilities (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH); dropping them from the bounding set before ``exec`` makes the new
    program run as a root that a mode of 000 stops, as it stops everyone else. Returns None when
    not root (modes apply already); skips the test where the capabilities cannot be dropped.
    """
    if os.geteuid() != 0:
        return None
    if not sys.platform.startswith("linux"):
        pytest.skip("running as root, and dropping capabilities needs Linux")
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    def drop() -> None:
        for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
            if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    try:
        subprocess.run([sys.executable, "-c", "pass"], preexec_fn=drop, check=True)
    except subprocess.SubprocessError:
        pytest.skip("running as root without the right to drop capabilities (CAP_SETPCAP)")
    return drop


def modes_binding():
    """(preexec_fn, whether file modes bind in the child): as ``without_file_permission_override``
    but never skipping; where modes cannot be made to bind, says so instead."""
    try:
        return without_file_permission_override(), True
    except pytest.skip.Exception:
        return None, False
