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
_SKIP = {"__pycache__", "lightning_logs", "node_modules", "venv", "site-packages"}


def entries(home: Path, exclude: Path) -> tuple[list[Path], list[str]]:
    """What to copy from ``home`` (in name order, within the budget), and what is left out."""
    taken, left, total = [], [], 0
    for entry in sorted(home.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name in _SKIP or entry.is_symlink():
            continue
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
    folder.mkdir(parents=True, exist_ok=True)
    for entry in taken:
        target = folder / entry.name
        if target.exists():
            continue
        if entry.is_dir():
            shutil.copytree(entry, target, symlinks=True, ignore=_ignored)
        elif entry.is_file():
            shutil.copy2(entry, target)


def _ignored(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n.startswith(".") or n in _SKIP]


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
        total = 0
        for folder, dirs, files in os.walk(entry):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP]
            for name in files:
                total += os.lstat(os.path.join(folder, name)).st_size
                if total > room:
                    return None
        return total
    except OSError:
        return None
