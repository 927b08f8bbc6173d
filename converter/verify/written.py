"""The files a run wrote in its working directory, decoded where they hold tensors.

Runs inside a verify child process, after the script. Every file under the working directory
changed since the run started counts (with ``--cwd`` two runs share the folder, one after the
other), except Lightning's own: what its loggers and checkpoint callbacks write (their folders
are recorded by :mod:`~converter.verify.trainer_hooks` and :mod:`~converter.verify.fabric_hooks`
while the script runs) and ``__pycache__``.

A file is described by its size and SHA-256, and by its content where a difference would not be
a difference: a ``torch.save`` file is loaded (the script's classes are still there) and
flattened into named leaves (tensors into the blob, numbers and strings as values; a pickled
module becomes its ``state_dict``), so that a whole model pickled as ``Net(nn.Module)`` compares
with one pickled as ``Net(LightningModule)``; a text file keeps its lines, compared like printed
output; anything else is compared byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import sys
import types

from converter.verify.blob import Blob

#: Files larger than this are compared by their hash only.
DECODE_LIMIT = 256 * 2**20
TEXT_LIMIT = 4 * 2**20
MAX_LEAVES = 100_000


def scan(cwd: str, since: float, skip: list[str]) -> list[str]:
    """The files under ``cwd`` modified at or after ``since``, relative, sorted; ``skip``: folders
    (absolute) whose files are Lightning's."""
    skipped = tuple(os.path.join(os.path.realpath(s), "") for s in skip)
    found = []
    for folder, dirs, files in os.walk(cwd):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        real = os.path.join(os.path.realpath(folder), "")
        if real.startswith(skipped):
            dirs[:] = []
            continue
        for name in files:
            path = os.path.join(folder, name)
            try:
                if os.stat(path).st_mtime >= since:
                    found.append(os.path.relpath(path, cwd))
            except OSError:
                continue
    return sorted(found)


def dump(cwd: str, since: float, skip: list[str], blob: Blob, namespace: dict | None) -> list:
    """One entry per written file (see the module docstring)."""
    return [_describe(cwd, rel, blob, namespace) for rel in scan(cwd, since, skip)]


def _describe(cwd: str, rel: str, blob: Blob, namespace: dict | None) -> dict:
    path = os.path.join(cwd, rel)
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        head = f.read(TEXT_LIMIT + 1)
        digest.update(head)
        size += len(head)
        for chunk in iter(lambda: f.read(2**20), b""):
            digest.update(chunk)
            size += len(chunk)
    entry: dict = {"path": rel.replace(os.sep, "/"), "size": size, "sha256": digest.hexdigest()}
    if size <= DECODE_LIMIT:
        leaves = _torch_leaves(path, blob, namespace)
        if leaves is not None:
            entry["tensors"] = leaves
            return entry
    if size <= TEXT_LIMIT:
        try:
            entry["text"] = head.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return entry


def _torch_leaves(path: str, blob: Blob, namespace: dict | None) -> list | None:
    import torch

    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] != b"PK" and magic[:1] != b"\x80":  # a zip archive or a legacy pickle
        return None
    try:
        with _script_main(namespace):
            data = torch.load(path, map_location="cpu", weights_only=False)
    except Exception:  # not a torch file after all, or it needs what the script no longer has
        return None
    leaves: list = []
    _flatten(data, "", leaves, blob, torch)
    return leaves


class _script_main:
    """``__main__`` is the script's namespace again while a file loads, so that the classes a
    whole-model ``torch.save`` pickled (``__main__.Net``) are found."""

    def __init__(self, namespace: dict | None) -> None:
        self.namespace = namespace
        self.saved = None

    def __enter__(self):
        if self.namespace is not None:
            module = types.ModuleType("__main__")
            module.__dict__.update(self.namespace)
            self.saved = sys.modules.get("__main__")
            sys.modules["__main__"] = module

    def __exit__(self, *exc):
        if self.namespace is not None:
            sys.modules["__main__"] = self.saved


def _flatten(value, name: str, leaves: list, blob: Blob, torch) -> None:
    if len(leaves) >= MAX_LEAVES:
        return
    if isinstance(value, torch.nn.Module):
        value = value.state_dict()
    elif isinstance(value, torch.optim.Optimizer):
        value = value.state_dict()
    if isinstance(value, torch.Tensor):
        leaves.append({"name": name, **blob.add(value)})
    elif isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{name}.{key}" if name else str(key), leaves, blob, torch)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _flatten(item, f"{name}.{i}" if name else str(i), leaves, blob, torch)
    elif isinstance(value, (bool, int, float, str, type(None))):
        leaves.append({"name": name, "value": value})
    else:
        leaves.append({"name": name, "value": repr(value)})
