"""Stand-in files for ``coverage.py --config``: data a script reads that a repository does not ship.

Each generator writes deterministic content (seeded by the file's relative path) from a small
declarative spec, so the original script and its conversion read the same bytes:

- ``image_folder``: ``<path>/<class>/<i>.<format>`` images, one colour pattern per class plus
  noise (an ``ImageFolder`` layout); keys ``classes`` (names or a count), ``per_class``, ``size``
  ``[width, height]``, ``mode`` (``RGB``/``L``), ``format`` (``png``/``jpg``).
- ``csv``: ``rows`` rows of ``columns``; a column is a name (floats in [0, 1)) or a table with
  ``name`` and ``kind``: ``float`` (``low``, ``high``, ``decimals``), ``int`` (``low``, ``high``
  inclusive), ``category`` (``values``) or ``index`` (the row number, from ``low``, written
  through ``format``, e.g. ``"{:04d}.jpg"`` to name an ``image_folder``'s files), and ``repeat``
  (that many such columns, named ``name0``, ``name1``...); ``header`` (default true),
  ``delimiter`` (default ``,``), ``preamble`` (lines written first, ``{rows}`` in them the row
  count: CelebA's attribute list starts with it); a path ending in ``.gz`` is gzipped.
- ``text``: ``lines`` lines of ``words`` words drawn from ``vocabulary`` (a list), or literally
  ``content``; ``.gz`` gzipped.
- ``copy``: a file or folder of the repository (``source``, relative to its root).
- ``state_dict``: ``torch.save(model(**kwargs).state_dict())`` for ``model = "module:callable"``
  importable from the script's folder (or ``folder``, relative to the repository root), seeded 0:
  stands in for downloaded pretrained weights, so training starts from other (fixed) weights.
- ``script``: the repository's own data generator, ``python <source> <args>`` (``source``
  relative to its root), run in the folder of the first path; it must write every path
  (``time_sequence_prediction/generate_sine_wave.py`` writing ``traindata.pt``).
- ``folder``: empty folders a script writes into without creating them (``results/``).
- ``tensors``: ``torch.save`` of a tuple of random tensors, one per table of ``tensors`` (keys
  ``shape``, ``dtype``: an integer dtype draws from ``low``..``high`` inclusive, a float one
  uniformly in [``low``, ``high``)); ``tensor`` (one table) saves that tensor alone. Stands in
  for a dataset a repository's own class downloads and saves that way (MNIST-M's
  ``processed/*.pt``).

Paths are relative to the folder the script runs in (``..`` allowed, but never out of the run's
temporary folder). This module does not import torch: ``state_dict`` runs a subprocess.
"""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

KINDS = ("image_folder", "csv", "text", "copy", "state_dict", "script", "folder", "tensors")
WORDS = (
    "the a of and to in is it that was for on with as at by this from be or are an we have not "
    "but one all there can so what about more when up out if their which time some into them "
    "model data train loss learn network layer value good bad new old small large fast slow"
).split()


class StandInError(ValueError):
    """A stand-in spec that cannot be built (bad key, bad value, path out of bounds)."""


def paths_of(spec: dict) -> list[str]:
    paths = spec.get("paths", spec.get("path"))
    if isinstance(paths, str):
        return [paths]
    if not paths or not all(isinstance(p, str) for p in paths):
        raise StandInError("needs `path` (a string) or `paths` (a list of strings)")
    return list(paths)


def check(name: str, spec: dict) -> None:
    """Raise StandInError when ``spec`` is malformed (before anything runs)."""
    kind = spec.get("kind")
    if kind not in KINDS:
        raise StandInError(f"stand-in {name!r}: `kind` must be one of {', '.join(KINDS)}")
    try:
        paths_of(spec)
    except StandInError as exc:
        raise StandInError(f"stand-in {name!r}: {exc}") from None
    if kind == "csv" and not spec.get("columns"):
        raise StandInError(f"stand-in {name!r}: a csv needs `columns`")
    if kind in ("copy", "script") and not isinstance(spec.get("source"), str):
        raise StandInError(f"stand-in {name!r}: a {kind} needs `source`")
    if kind == "script" and not isinstance(spec.get("args", []), list):
        raise StandInError(f"stand-in {name!r}: `args` must be a list of strings")
    if kind == "tensors":
        tables = [spec["tensor"]] if "tensor" in spec else spec.get("tensors")
        if not tables or not all(isinstance(t, dict) and "shape" in t for t in tables):
            raise StandInError(
                f"stand-in {name!r}: `tensors` needs a list of tables with `shape`, or `tensor`"
            )
    if kind == "state_dict" and ":" not in str(spec.get("model", "")):
        raise StandInError(f'stand-in {name!r}: a state_dict needs `model = "module:callable"`')


def build(spec: dict, run_dir: Path, bound: Path, root: Path, script_dir: Path) -> list[Path]:
    """Write the stand-in under ``run_dir``; return what was written. ``bound``: nothing may be
    written outside it. ``root``: the repository (for ``copy``), ``script_dir``: the script's
    folder (for ``state_dict``)."""
    written = []
    dests = []
    for rel in paths_of(spec):
        dest = (run_dir / rel).resolve()
        if not dest.is_relative_to(bound.resolve()):
            raise StandInError(f"{rel}: lands outside the run's folder")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dests.append(dest)
    if spec["kind"] == "script":  # one run writes every path
        _script(spec, dests, root)
        return dests
    for rel, dest in zip(paths_of(spec), dests):
        seed = zlib.crc32(rel.encode())
        kind = spec["kind"]
        if kind == "image_folder":
            _image_folder(spec, dest, seed)
        elif kind == "csv":
            _write(dest, _csv(spec, seed))
        elif kind == "text":
            _write(dest, _text(spec, seed))
        elif kind == "copy":
            _copy(root / spec["source"], dest)
        elif kind == "state_dict":
            folder = root / spec["folder"] if "folder" in spec else script_dir
            _state_dict(spec, dest, folder)
        elif kind == "folder":
            dest.mkdir(exist_ok=True)
        elif kind == "tensors":
            _tensors(spec, dest, seed)
        written.append(dest)
    return written


def _write(dest: Path, text: str) -> None:
    data = text.encode("utf-8")
    if dest.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    dest.write_bytes(data)


def _rng(seed: int):
    import numpy

    return numpy.random.RandomState(seed)


def _image_folder(spec: dict, dest: Path, seed: int) -> None:
    from PIL import Image

    classes = spec.get("classes", 2)
    names = [f"class_{i}" for i in range(classes)] if isinstance(classes, int) else list(classes)
    width, height = spec.get("size", [64, 64])
    mode = spec.get("mode", "RGB")
    channels = 3 if mode == "RGB" else 1
    fmt = spec.get("format", "png")
    rng = _rng(seed)
    for name in names:
        folder = dest / name
        folder.mkdir(parents=True, exist_ok=True)
        proto = rng.randint(0, 256, (height, width, channels))
        for i in range(int(spec.get("per_class", 8))):
            noise = rng.randint(0, 256, (height, width, channels))
            pixels = ((proto * 3 + noise) // 4).astype("uint8")
            img = Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)
            img.save(folder / f"{i:04d}.{fmt}")


def _csv(spec: dict, seed: int) -> str:
    rng = _rng(seed)
    rows = int(spec.get("rows", 100))
    columns = []
    for c in spec["columns"]:
        col = {"name": c} if isinstance(c, str) else dict(c)
        n = int(col.pop("repeat", 0))
        columns += [dict(col, name=f"{col.get('name', '')}{i}") for i in range(n)] if n else [col]
    cells = []
    for col in columns:
        kind = col.get("kind", "float")
        if kind == "float":
            lo, hi = col.get("low", 0.0), col.get("high", 1.0)
            digits = int(col.get("decimals", 4))
            cells.append([f"{v:.{digits}f}" for v in rng.uniform(lo, hi, rows)])
        elif kind == "int":
            cells.append([str(v) for v in rng.randint(col.get("low", 0), col["high"] + 1, rows)])
        elif kind == "category":
            values = list(col["values"])
            cells.append([str(values[i]) for i in rng.randint(0, len(values), rows)])
        elif kind == "index":
            fmt = str(col.get("format", "{}"))
            cells.append([fmt.format(col.get("low", 0) + i) for i in range(rows)])
        else:
            raise StandInError(f"csv column {col.get('name')!r}: unknown kind {kind!r}")
    sep = spec.get("delimiter", ",")
    out = io.StringIO()
    for line in spec.get("preamble", []):
        out.write(str(line).format(rows=rows) + "\n")
    if spec.get("header", True):
        out.write(sep.join(str(c.get("name", "")) for c in columns) + "\n")
    for r in range(rows):
        out.write(sep.join(col[r] for col in cells) + "\n")
    return out.getvalue()


def _text(spec: dict, seed: int) -> str:
    if "content" in spec:
        return str(spec["content"])
    rng = _rng(seed)
    vocab = list(spec.get("vocabulary", WORDS))
    lines = []
    for _ in range(int(spec.get("lines", 100))):
        picks = rng.randint(0, len(vocab), int(spec.get("words", 8)))
        lines.append(" ".join(vocab[i] for i in picks))
    return "\n".join(lines) + "\n"


def _copy(src: Path, dest: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dest, dirs_exist_ok=True)
    elif src.is_file():
        shutil.copyfile(src, dest)
    else:
        raise StandInError(f"copy: {src} does not exist")


_SAVE = """
import sys, importlib, json, torch
sys.path.insert(0, sys.argv[1])
module, _, name = sys.argv[2].partition(":")
torch.manual_seed(0)
model = getattr(importlib.import_module(module), name)(**json.loads(sys.argv[3]))
torch.save(model.state_dict(), sys.argv[4])
"""


def _state_dict(spec: dict, dest: Path, folder: Path) -> None:
    import json

    kwargs = json.dumps(spec.get("kwargs", {}))
    cmd = [sys.executable, "-c", _SAVE, str(folder), spec["model"], kwargs, str(dest)]
    done = subprocess.run(cmd, cwd=dest.parent, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise StandInError(f"state_dict {spec['model']}: {last}")


def _script(spec: dict, dests: list[Path], root: Path) -> None:
    source = root / spec["source"]
    if not source.is_file():
        raise StandInError(f"script: {source} does not exist")
    cmd = [sys.executable, str(source), *[str(a) for a in spec.get("args", [])]]
    done = subprocess.run(cmd, cwd=dests[0].parent, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise StandInError(f"script {spec['source']}: {last}")
    missing = [d.name for d in dests if not d.exists()]
    if missing:
        raise StandInError(f"script {spec['source']} did not write {', '.join(missing)}")


_TENSORS = """
import sys, json, torch
spec, seed, dest = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
g = torch.Generator().manual_seed(seed)
out = []
for t in spec["tables"]:
    dtype = getattr(torch, t.get("dtype", "float32"))
    shape, low = t["shape"], t.get("low", 0)
    if dtype.is_floating_point:
        x = torch.rand(shape, generator=g, dtype=torch.float64) * (t.get("high", 1) - low) + low
        out.append(x.to(dtype))
    else:
        out.append(torch.randint(low, t["high"] + 1, shape, generator=g).to(dtype))
torch.save(out[0] if spec["bare"] else tuple(out), dest)
"""


def _tensors(spec: dict, dest: Path, seed: int) -> None:
    import json

    bare = "tensor" in spec
    tables = [spec["tensor"]] if bare else spec["tensors"]
    args = [json.dumps({"tables": tables, "bare": bare}), str(seed), str(dest)]
    done = subprocess.run(
        [sys.executable, "-c", _TENSORS, *args], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise StandInError(f"tensors {dest.name}: {last}")
