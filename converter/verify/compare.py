"""Compare two traces written by :mod:`converter.verify.tracing` and format the verdict.

Pure Python (``json`` and ``array``): the parent process never imports torch.

Two values agree when ``|a - b| <= tolerance * max(1, |a|, |b|)`` (absolute below 1, relative
above); with the default tolerance 0 that means bit-identical doubles (two NaNs agree). Losses are
compared call by call to ``backward`` (the "step" in the table); weights tensor by tensor, in the
order the optimizers first stepped and their ``param_groups`` list them.
"""

from __future__ import annotations

import json
import math
from array import array
from dataclasses import dataclass, field

HEAD, TAIL, MAX_DIFF_ROWS = 5, 5, 5


def load(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        trace = json.load(f)
    trace["_bin"] = path + ".bin"
    return trace


def _relative(a: float | None, b: float | None) -> float:
    d = _diff(a, b)
    if d == 0.0 or math.isinf(d):
        return d
    return d / max(abs(a), abs(b))


def _diff(a: float | None, b: float | None) -> float:
    if a is None or b is None:
        return math.inf
    if math.isnan(a) or math.isnan(b):
        return 0.0 if math.isnan(a) and math.isnan(b) else math.inf
    if a == b:  # also inf == inf
        return 0.0
    return abs(a - b)


def agree(a: float | None, b: float | None, tolerance: float) -> bool:
    d = _diff(a, b)
    if d == 0.0:
        return True
    if math.isinf(d):  # a missing value, one NaN, or an infinity against a number
        return False
    return d <= tolerance * max(1.0, abs(a), abs(b))


@dataclass
class WeightResult:
    tensors: int = 0
    values: int = 0
    max_diff: float = 0.0
    max_name: str = ""
    differing: list[str] = field(default_factory=list)
    mismatch: str | None = None  # structure differs: what


@dataclass
class Comparison:
    original: list[float | None]
    converted: list[float | None]
    first_diff: int | None  # index into the losses
    max_loss_diff: float
    max_loss_relative: float  # largest |a - b| / max(|a|, |b|) over the compared losses
    steps: tuple[int, int]
    stopped: tuple[bool, bool]
    weights: WeightResult
    tolerance: float

    @property
    def equivalent(self) -> bool:
        return (
            self.first_diff is None
            and len(self.original) == len(self.converted)
            and self.steps[0] == self.steps[1]
            and self.weights.mismatch is None
            and not self.weights.differing
        )


def compare(original: dict, converted: dict, tolerance: float = 0.0) -> Comparison:
    a = [e["value"] for e in original["losses"]]
    b = [e["value"] for e in converted["losses"]]
    first, biggest, relative = None, 0.0, 0.0
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if i < min(len(a), len(b)):
            biggest = max(biggest, _diff(x, y))
            relative = max(relative, _relative(x, y))
        if first is None and not agree(x, y, tolerance):
            first = i
    return Comparison(
        original=a,
        converted=b,
        first_diff=first,
        max_loss_diff=biggest,
        max_loss_relative=relative,
        steps=(original["steps"], converted["steps"]),
        stopped=(original["status"] == "stopped", converted["status"] == "stopped"),
        weights=compare_weights(original, converted, tolerance),
        tolerance=tolerance,
    )


def devices(trace: dict) -> list[str]:
    """Where a run trained: the device types of its losses (``cpu``, ``cuda``), or of its weights
    when it computed none (Lightning moves a module back to the CPU when it stops)."""
    found = {e.get("device") for e in trace.get("losses", ())}
    if not found:
        found = {p.get("device") for p in _params(trace)}
    return sorted(d for d in found if d)


def _params(trace: dict) -> list[dict]:
    return [p for opt in trace["optimizers"] for g in opt["groups"] for p in g["params"]]


def compare_weights(original: dict, converted: dict, tolerance: float) -> WeightResult:
    result = WeightResult()
    pa, pb = _params(original), _params(converted)
    shape_a = [[len(g["params"]) for g in o["groups"]] for o in original["optimizers"]]
    shape_b = [[len(g["params"]) for g in o["groups"]] for o in converted["optimizers"]]
    if shape_a != shape_b:
        result.mismatch = (
            f"optimizer parameter groups differ: original {_describe(original)}, "
            f"converted {_describe(converted)}"
        )
        return result
    with open(original["_bin"], "rb") as fa, open(converted["_bin"], "rb") as fb:
        da, db = fa.read(), fb.read()
    for x, y in zip(pa, pb):
        label = x["name"] if x["name"] == y["name"] else f"{x['name']} / {y['name']}"
        if x["shape"] != y["shape"] or x["format"] != y["format"]:
            result.mismatch = (
                f"parameter {label}: original {x['shape']} {x['dtype']}, "
                f"converted {y['shape']} {y['dtype']}"
            )
            return result
        result.tensors += 1
        result.values += x["nbytes"] // array(x["format"]).itemsize
        worst, same = tensor_difference(da, x, db, y, tolerance)
        if worst > result.max_diff or (worst and not result.max_name):
            result.max_diff, result.max_name = worst, label
        if not same:
            result.differing.append(label)
    return result


def tensor_difference(da: bytes, x: dict, db: bytes, y: dict, tolerance: float):
    """(largest difference, within tolerance) of two tensors of the same shape and format;
    ``x`` and ``y`` locate their bytes in ``da`` and ``db`` (see :mod:`converter.verify.blob`)."""
    ra = da[x["offset"] : x["offset"] + x["nbytes"]]
    rb = db[y["offset"] : y["offset"] + y["nbytes"]]
    if ra == rb:
        return 0.0, True
    worst, same = 0.0, True
    for u, v in zip(array(x["format"], ra), array(y["format"], rb)):
        d = _diff(u, v)
        if d > worst:
            worst = d
        if same and d and not agree(u, v, tolerance):
            same = False
    return worst, same


def _describe(trace: dict) -> str:
    opts = trace["optimizers"]
    if not opts:
        return "no optimizer stepped"
    return ", ".join(
        f"{o['class']}({'+'.join(str(len(g['params'])) for g in o['groups'])} tensors)"
        for o in opts
    )


# -- formatting -------------------------------------------------------------------------------


def _num(x: float | None) -> str:
    return "-" if x is None else repr(float(x))


def _d(x: float) -> str:
    return "0" if x == 0 else f"{x:.3g}"


def _rows(c: Comparison) -> list[int | tuple[int]]:
    """Indices to show, ``(n,)`` for n steps left out: first and last few, first differing."""
    n = max(len(c.original), len(c.converted))
    keep = set(range(min(HEAD, n))) | set(range(max(0, n - TAIL), n))
    shown = 0
    for i in range(n):
        x = c.original[i] if i < len(c.original) else None
        y = c.converted[i] if i < len(c.converted) else None
        if shown < MAX_DIFF_ROWS and _diff(x, y) != 0:
            keep.add(i)
            shown += 1
    rows: list[int | tuple[int]] = []
    last = -1
    for i in sorted(keep):
        if i != last + 1:
            rows.append((i - last - 1,))
        rows.append(i)
        last = i
    return rows


def table(c: Comparison, names: tuple[str, str] = ("original", "lightning")) -> str:
    w = 22
    head = f"{'step':>6}  {names[0] + ' loss':>{w}}  {names[1] + ' loss':>{w}}  {'difference':>10}"
    lines = [head, "-" * len(head)]
    for i in _rows(c):
        if isinstance(i, tuple):
            lines.append(f"{'...':>6}  ({i[0]} more step{'s' if i[0] > 1 else ''})")
            continue
        x = c.original[i] if i < len(c.original) else None
        y = c.converted[i] if i < len(c.converted) else None
        d = _diff(x, y)
        mark = ""
        if i == c.first_diff:
            mark = "  <- first difference"
        elif not agree(x, y, c.tolerance):
            mark = "  !"
        diff = "-" if x is None or y is None else _d(d)
        lines.append(f"{i + 1:>6}  {_num(x):>{w}}  {_num(y):>{w}}  {diff:>10}{mark}")
    return "\n".join(lines)


def summary(c: Comparison, names: tuple[str, str] = ("original", "lightning")) -> tuple[str, str]:
    """(details, verdict line)."""
    na, nb = len(c.original), len(c.converted)
    stop = " (stopped by --max-steps)" if all(c.stopped) else ""
    details = [
        f"losses compared: {min(na, nb)} (backward calls: {names[0]} {na}, {names[1]} {nb}); "
        f"optimizer steps: {names[0]} {c.steps[0]}, {names[1]} {c.steps[1]}{stop}",
        f"largest loss difference: {_d(c.max_loss_diff)}",
    ]
    w = c.weights
    if w.mismatch:
        details.append(f"weights: cannot compare: {w.mismatch}")
    else:
        where = f" ({w.max_name})" if w.max_diff else ""
        details.append(
            f"weights compared: {w.tensors} tensors, {w.values} values; "
            f"largest weight difference: {_d(w.max_diff)}{where}"
        )
    if c.equivalent:
        how = "identical" if c.tolerance == 0 else f"within tolerance {c.tolerance:g}"
        verdict = f"EQUIVALENT: every loss and every final weight {how}."
        return "\n".join(details), verdict
    if c.first_diff is not None and c.first_diff < min(na, nb):
        i = c.first_diff
        verdict = (
            f"DIVERGED at step {i + 1}: {names[0]} loss {_num(c.original[i])}, "
            f"{names[1]} loss {_num(c.converted[i])}"
        )
    elif na != nb:
        verdict = f"DIVERGED: {names[0]} called backward {na} times, {names[1]} {nb} times"
    elif c.steps[0] != c.steps[1]:
        verdict = f"DIVERGED: {names[0]} made {c.steps[0]} optimizer steps, {names[1]} {c.steps[1]}"
    elif w.mismatch:
        verdict = f"DIVERGED: {w.mismatch}"
    else:
        verdict = (
            f"DIVERGED: losses agree but final weights differ in {len(w.differing)} tensor(s), "
            f"first {w.differing[0]}"
        )
    return "\n".join(details), verdict
