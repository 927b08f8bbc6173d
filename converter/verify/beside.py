"""What sits beside the script, copied into each run's fresh working folder.

`python train.py` is usually run from the script's own folder, so scripts and notebooks read what
ships with them by relative paths: `open("classes.txt")`, `Path("helper_functions.py").is_file()`
(a notebook that downloads its helpers only when they are missing), `data/train.csv`. verify runs
each script in a fresh folder of its own (so that what the runs write never collides nor lands in
the user's folder); copying the script's neighbours there first makes those paths resolve as they
would, while the user's folder is never written to. The copies keep their modification times,
so they are not taken for files the run wrote (written.py), unless the run changes them.

Hidden entries, `__pycache__`, Lightning's `lightning_logs` and the verify folder itself are left
out, and so is whatever would take the copy over :data:`BUDGET` (a folder holding a whole
dataset): the report says what was left out, and `--cwd DIR` runs in the folder itself.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

BUDGET = 64 * 2**20
#: Entries looked at, and files counted in a folder, at most: a folder beside the script that holds
#: more (a home or temporary folder) is not what the script ships with.
MAX_ENTRIES, MAX_FILES = 200, 5000
_SKIP = {"__pycache__", "lightning_logs", "node_modules", "venv", "site-packages"}


def entries(home: Path, exclude: Path) -> tuple[list[Path], list[str]]:
    """What to copy from ``home`` (in name order, within the budget), and what is left out."""
    taken, left, total = [], [], 0
    try:
        listed = sorted(home.iterdir(), key=lambda p: p.name)
    except OSError:
        return [], []
    if len(listed) > MAX_ENTRIES:
        return [], [f"{len(listed)} entries of {home}"]
    for entry in listed:
        if entry.name.startswith(".") or entry.name in _SKIP or entry.is_symlink():
            continue
        if not (entry.is_file() or entry.is_dir()):
            continue  # a socket, a pipe, a device
        if _contains(entry, exclude):
            continue
        size = _size(entry, BUDGET - total)
        if size is None:
            left.append(entry.name)
            continue
        total += size
        taken.append(entry)
    return taken, left


def copy(taken: list[Path], folder: Path) -> None:
    """Copy the entries into ``folder``; one that cannot be copied (gone, unreadable) is left
    out: the run then sees what it would see without it."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in taken:
        target = folder / entry.name
        if target.exists():
            continue
        try:
            if entry.is_dir():
                shutil.copytree(entry, target, symlinks=True, ignore=_ignored)
            elif entry.is_file():
                shutil.copy2(entry, target)
        except (OSError, shutil.Error):
            continue


def _ignored(folder: str, names: list[str]) -> list[str]:
    """Hidden names, caches, and what is neither a file nor a folder (sockets, pipes)."""
    left = []
    for name in names:
        path = os.path.join(folder, name)
        plain = os.path.islink(path) or os.path.isfile(path) or os.path.isdir(path)
        if name.startswith(".") or name in _SKIP or not plain:
            left.append(name)
    return left


def _contains(entry: Path, inner: Path) -> bool:
    try:
        return inner.resolve().is_relative_to(entry.resolve())
    except OSError:
        return True


def _size(entry: Path, room: int) -> int | None:
    """The entry's size in bytes, or None when it is over ``room`` (or cannot be read)."""
    try:
        if entry.is_file():
            size = entry.stat().st_size
            return size if size <= room else None
        total, count = 0, 0
        for folder, dirs, files in os.walk(entry):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP]
            for name in files:
                total += os.lstat(os.path.join(folder, name)).st_size
                count += 1
                if total > room or count > MAX_FILES:
                    return None
        return total
    except OSError:
        return None
