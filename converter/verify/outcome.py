"""Compare what two runs left behind: their modules, optimizer states and written files.

Pure Python: runs in the CLI process, on what :mod:`~converter.verify.holdings` and
:mod:`~converter.verify.written` dumped (``trace["holdings"]``, ``trace["written"]``, tensors in
``<trace>.outcome.bin``).

Modules are matched by what they are, not where they live: each module the original holds (a
root: no other module contains it) is looked for in the conversion as a root *or* a submodule
with the same state-dict keys, of the same class where there is one (a model the conversion wraps
in a generated LightningModule is its ``model`` submodule there), in the order they were made.
Then every tensor (parameters and buffers), every parameter's gradient, every submodule's
train/eval mode and the devices are compared. Optimizers are compared in the order they first
stepped: every value of their state (moments, step counts) and every setting of their parameter
groups (the learning rate a scheduler left). Files are compared by their path relative to the
working directory: tensors saved with ``torch.save`` numerically, text line by line (numbers
within the tolerance), anything else byte for byte.

Each difference has a stable key. Given a second run of the original (``again``), a difference
whose key also differs between the original's two runs is not evidence: it is reported as
varying, not as a divergence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from converter.verify import printed
from converter.verify.compare import agree, tensor_difference

SHOWN = 8


@dataclass
class Outcome:
    modules: int = 0
    tensors: int = 0
    buffers: int = 0
    gradients: int = 0
    submodules: int = 0
    optimizers: int = 0
    optimizer_values: int = 0
    files: list[str] = field(default_factory=list)
    #: key -> what differs, for differences that are evidence
    problems: dict[str, str] = field(default_factory=dict)
    #: keys of differences that also differ between two runs of the original
    varying: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    compared: bool = True  # False: a run dumped nothing (an older runner, a failed dump)

    @property
    def equivalent(self) -> bool:
        return not self.problems

    def details(self) -> list[str]:
        if not self.compared:
            return ["state and files: not compared (a run recorded none)"]
        parameters = self.tensors - self.buffers
        lines = [
            f"state compared: {_n(self.modules, 'module')} ({_n(parameters, 'parameter')}, "
            f"{_n(self.buffers, 'buffer')}, {_n(self.gradients, 'gradient')}, the modes of "
            f"{_n(self.submodules, 'submodule')}); {_n(self.optimizers, 'optimizer state')} "
            f"({_n(self.optimizer_values, 'value')})",
        ]
        if self.files:
            shown = ", ".join(self.files[:SHOWN]) + (", ..." if len(self.files) > SHOWN else "")
            lines.append(f"files compared: {len(self.files)} ({shown})")
        else:
            lines.append("files compared: none written (outside Lightning's own logs)")
        for problem in list(self.problems.values())[:SHOWN]:
            lines.append(f"  ! {problem}")
        if len(self.problems) > SHOWN:
            lines.append(f"  ! ... and {len(self.problems) - SHOWN} more differences")
        if self.varying:
            shown = "; ".join(self.varying[:SHOWN])
            lines.append(
                f"  not evidence: {len(self.varying)} differ between two runs of the original "
                f"itself: {shown}"
            )
        lines.extend(f"  note: {note}" for note in self.notes)
        return lines

    def verdict(self) -> str:
        first = next(iter(self.problems.values()))
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"DIVERGED in what the scripts leave behind: {first}{more}"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class _Blobs:
    def __init__(self, trace: dict) -> None:
        path = trace["_bin"][: -len(".bin")] + ".outcome.bin"
        try:
            with open(path, "rb") as f:
                self.data = f.read()
        except OSError:
            self.data = b""


def compare(original: dict, converted: dict, tolerance: float, again: dict | None = None):
    """The outcome of ``converted`` against ``original``; ``again``: a second run of the
    original, whose own differences are not evidence."""
    result = Outcome()
    if "holdings" not in original or "holdings" not in converted:
        result.compared = False
        return result
    problems = _differences(original, converted, tolerance, result)
    if again is not None and "holdings" in again:
        noise = _differences(original, again, tolerance, Outcome())
        result.varying = [problems.pop(key) for key in list(problems) if key in noise]
    if "stopped" in (original.get("status"), converted.get("status")):
        # --max-steps stopped a run mid-training, where no code after training runs: the mode
        # there is the loop's own (Lightning's train mode, a plain loop's last call)
        modes = [key for key in problems if key.endswith(": mode")]
        for key in modes:
            problems.pop(key)
        if modes:
            result.notes.append("modes not compared: a run was stopped mid-training (--max-steps)")
    result.problems = problems
    return result


def _differences(a: dict, b: dict, tolerance: float, counts: Outcome) -> dict[str, str]:
    found: dict[str, str] = {}
    blobs = (_Blobs(a).data, _Blobs(b).data)
    _modules(a["holdings"], b["holdings"], blobs, tolerance, counts, found)
    _optimizers(a["holdings"], b["holdings"], blobs, tolerance, counts, found)
    _files(a.get("written", []), b.get("written", []), blobs, tolerance, counts, found)
    if a["holdings"].get("left_out"):
        counts.notes.append(f"{a['holdings']['left_out']} more modules were not compared")
    return found


# -- modules ---------------------------------------------------------------------------------


@dataclass
class _View:
    """A module of the conversion: a root, or a submodule of a root at ``prefix``."""

    root: dict
    prefix: str
    cls: str

    def tensors(self) -> dict[str, dict]:
        if not self.prefix:
            return {t["name"]: t for t in self.root["tensors"]}
        head = self.prefix + "."
        return {
            t["name"][len(head) :]: t for t in self.root["tensors"] if t["name"].startswith(head)
        }

    def modes(self) -> dict[str, bool]:
        if not self.prefix:
            return {name: training for name, _, training in self.root["submodules"]}
        head = self.prefix + "."
        out = {}
        for name, _, training in self.root["submodules"]:
            if name == self.prefix:
                out[""] = training
            elif name.startswith(head):
                out[name[len(head) :]] = training
        return out


def _views(roots: list[dict]) -> list[_View]:
    return [_View(root, name, cls) for root in roots for name, cls, _ in root["submodules"]]


def _modules(a: dict, b: dict, blobs, tolerance: float, counts: Outcome, found: dict) -> None:
    views = _views(b["modules"])
    used: set[int] = set()
    seen: dict[str, int] = {}
    for module in a["modules"]:
        cls = module["class"]
        seen[cls] = seen.get(cls, 0) + 1
        label = cls if seen[cls] == 1 else f"{cls} #{seen[cls]}"
        shapes = {t["name"]: t["shape"] for t in module["tensors"]}
        match = _find(views, used, cls, shapes)
        if match is None:
            same_class = [v for i, v in enumerate(views) if v.cls == cls and i not in used]
            found[f"module {label}"] = _unmatched(label, shapes, same_class)
            continue
        used.add(match)
        counts.modules += 1
        _compare_module(label, module, views[match], blobs, tolerance, counts, found)


def _unmatched(label: str, shapes: dict, same_class: list[_View]) -> str:
    if not same_class:
        return f"{label} ({len(shapes)} tensors) is not held by the conversion at the end"
    other = {name: t["shape"] for name, t in same_class[0].tensors().items()}
    if set(other) == set(shapes):
        name = next(n for n in shapes if shapes[n] != other[n])
        return (
            f"{label}: its tensors have other shapes in the conversion "
            f"(first {name}: {shapes[name]} in the original, {other[name]} in the conversion)"
        )
    missing, extra = sorted(set(shapes) - set(other)), sorted(set(other) - set(shapes))
    return (
        f"{label}: its state differs in keys (missing in the conversion: {_few(missing)}; "
        f"only in the conversion: {_few(extra)})"
    )


def _find(views: list[_View], used: set[int], cls: str, shapes: dict) -> int | None:
    """The first unused module with these state keys and shapes: of the same class, else of any
    class (a subclass, or the same layers in a class of another name)."""

    def fits_shapes(view: _View) -> bool:
        return {name: t["shape"] for name, t in view.tensors().items()} == shapes

    fits = [i for i, view in enumerate(views) if i not in used and fits_shapes(view)]
    same = [i for i in fits if views[i].cls == cls]
    return (same or fits or [None])[0]


def _compare_module(label, module, view, blobs, tolerance, counts, found) -> None:
    theirs = view.tensors()
    for tensor in module["tensors"]:
        name, other = tensor["name"], theirs[tensor["name"]]
        counts.tensors += 1
        counts.buffers += tensor["kind"] == "buffer"
        key = f"module {label}: {name}"
        if not _same_tensor(tensor, other, blobs, tolerance, found, key, f"{label}.{name}"):
            continue
        grads = tensor.get("grad"), other.get("grad")
        if grads == (None, None):
            continue
        counts.gradients += 1
        if None in grads:
            has, lacks = (
                ("original", "conversion") if grads[1] is None else ("conversion", "original")
            )
            found[f"{key} grad"] = (
                f"the gradient of {label}.{name}: the {has} has one, the {lacks} has none (None)"
            )
            continue
        _same_tensor(*grads, blobs, tolerance, found, f"{key} grad", f"the gradient of {name}")
    _compare_modes(label, module, view, counts, found)
    if module.get("devices") != view.root.get("devices"):
        found[f"module {label}: device"] = (
            f"{label} ends on {'+'.join(module.get('devices') or ['?'])} in the original, on "
            f"{'+'.join(view.root.get('devices') or ['?'])} in the conversion"
        )


def _compare_modes(label, module, view, counts, found) -> None:
    theirs = view.modes()
    differ = []
    for name, _, training in module["submodules"]:
        if name not in theirs:
            continue
        counts.submodules += 1
        if theirs[name] != training:
            differ.append((name or "(the module)", training, theirs[name]))
    if differ:
        name, ours, other = differ[0]
        mode = {True: "train", False: "eval"}
        found[f"module {label}: mode"] = (
            f"{label} is left in {mode[ours]} mode by the original, in {mode[other]} mode by the "
            f"conversion ({_n(len(differ), 'submodule')}, first {name}): code after training "
            f"(predictions, exports) would run in {mode[other]} mode (dropout, batch norm)"
        )


def _same_tensor(x, y, blobs, tolerance, found, key, label) -> bool:
    if x["shape"] != y["shape"] or x["format"] != y["format"]:
        found[key] = (
            f"{label}: original {x['shape']} {x['dtype']}, conversion {y['shape']} {y['dtype']}"
        )
        return False
    worst, same = tensor_difference(blobs[0], x, blobs[1], y, tolerance)
    if not same:
        found[key] = f"{label} differs (largest difference {worst:.3g})"
    return same


def _same_leaf(x, y, blobs, tolerance, found, key, label) -> None:
    """A recorded value or tensor (an optimizer's step count, an entry of a saved file)."""
    if "value" not in x and "value" not in y:
        _same_tensor(x, y, blobs, tolerance, found, key, label)
    elif not _same_value(x.get("value"), y.get("value"), tolerance):
        found[key] = (
            f"{label} is {x.get('value')!r} in the original, {y.get('value')!r} in the conversion"
        )


def _few(names: list[str]) -> str:
    return (", ".join(names[:4]) + (", ..." if len(names) > 4 else "")) or "none"


# -- optimizers ------------------------------------------------------------------------------


def _optimizers(a: dict, b: dict, blobs, tolerance: float, counts: Outcome, found: dict) -> None:
    for i, (x, y) in enumerate(zip(a["optimizers"], b["optimizers"])):
        label = f"optimizer {i + 1} ({x['class']})"
        counts.optimizers += 1
        if x["class"] != y["class"]:
            found[label] = f"{label}: the conversion's is a {y['class']}"
            continue
        theirs = {e["name"]: e for e in y["state"]}
        for entry in x["state"]:
            key = f"{label}: {entry['name']}"
            counts.optimizer_values += 1
            other = theirs.get(entry["name"])
            if other is None:
                found[key] = f"{label}: state {entry['name']} is missing in the conversion"
            else:
                what = f"{label}: state {entry['name']}"
                _same_leaf(entry, other, blobs, tolerance, found, key, what)
        for g, (gx, gy) in enumerate(zip(x["groups"], y["groups"])):
            for setting in sorted(set(gx) | set(gy)):
                counts.optimizer_values += 1
                if not _same_value(gx.get(setting), gy.get(setting), tolerance):
                    found[f"{label}: group {g} {setting}"] = (
                        f"{label}: parameter group {g}'s {setting} is {gx.get(setting)!r} in the "
                        f"original, {gy.get(setting)!r} in the conversion"
                    )
    if len(a["optimizers"]) != len(b["optimizers"]):
        found["optimizers"] = (
            f"{len(a['optimizers'])} optimizers stepped in the original, "
            f"{len(b['optimizers'])} in the conversion"
        )


def _same_value(x, y, tolerance: float) -> bool:
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_same_value(u, v, tolerance) for u, v in zip(x, y))
    both_numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y))
    if both_numbers:
        return agree(float(x), float(y), tolerance)
    return x == y


# -- files -----------------------------------------------------------------------------------


def _files(a: list, b: list, blobs, tolerance: float, counts: Outcome, found: dict) -> None:
    ours, theirs = {f["path"]: f for f in a}, {f["path"]: f for f in b}
    pairs = _pair_files(ours, theirs)
    for path in sorted(set(ours) - set(pairs)):
        found[f"file {path}"] = f"file {path}: written by the original, not by the conversion"
    for path in sorted(set(theirs) - set(pairs.values())):
        found[f"file {path}"] = f"file {path}: written by the conversion, not by the original"
    for path, other in sorted(pairs.items()):
        key = f"file {path}"
        if other != path:
            found[f"{key}: name"] = f"file {path} is named {other} by the conversion"
        counts.files.append(path)
        x, y = ours[path], theirs[other]
        if x["sha256"] == y["sha256"]:
            continue
        if "tensors" in x and "tensors" in y:
            _compare_leaves(path, x["tensors"], y["tensors"], blobs, tolerance, found)
        elif "text" in x and "text" in y:
            _compare_text(path, x["text"], y["text"], tolerance, found)
        else:
            found[key] = f"file {path}: its bytes differ ({x['size']} vs {y['size']} bytes)"


def _pair_files(ours: dict, theirs: dict) -> dict[str, str]:
    """Each file of the original -> the conversion's of the same path; where names differ only
    in their numbers (a date or a time in the name: ``epoch_1_2026-12-07_03-19-50.model``), the
    one file of each side with that shape. A name that changes with the clock changes between
    two runs of the original too, so it is no evidence (see :func:`compare`)."""
    pairs = {path: path for path in ours if path in theirs}
    shapes: dict[str, tuple[list, list]] = {}
    for side, files in ((0, ours), (1, theirs)):
        for path in files:
            if path not in pairs:
                shapes.setdefault(printed.NUMBER.sub("#", path), ([], []))[side].append(path)
    for mine, other in shapes.values():
        if len(mine) == 1 and len(other) == 1:
            pairs[mine[0]] = other[0]
    return pairs


def _compare_leaves(path, x, y, blobs, tolerance, found) -> None:
    theirs = {leaf["name"]: leaf for leaf in y}
    names = [leaf["name"] for leaf in x]
    if set(names) != set(theirs):
        missing = sorted(set(names) - set(theirs))
        extra = sorted(set(theirs) - set(names))
        found[f"file {path}"] = (
            f"file {path}: holds other entries (missing in the conversion's: {_few(missing)}; "
            f"only in the conversion's: {_few(extra)})"
        )
        return
    for leaf in x:
        key = f"file {path}: {leaf['name']}"
        _same_leaf(leaf, theirs[leaf["name"]], blobs, tolerance, found, key, key)


def _compare_text(path, x: str, y: str, tolerance: float, found) -> None:
    ours, theirs = x.splitlines(), y.splitlines()
    for i, (u, v) in enumerate(zip(ours, theirs)):
        if not printed.lines_agree(u, v, tolerance):
            found[f"file {path}: line {i + 1}"] = (
                f"file {path}: line {i + 1} is {u!r} in the original's, {v!r} in the conversion's"
            )
    if len(ours) != len(theirs):
        found[f"file {path}: lines"] = (
            f"file {path}: {len(ours)} lines in the original's, {len(theirs)} in the conversion's"
        )
