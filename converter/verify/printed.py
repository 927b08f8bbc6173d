"""Compare what two runs printed on stdout, line by line, numbers within the tolerance.

Pure Python: runs in the CLI process. The text comes from the traces (``printed``: the segments
:class:`~converter.verify.capture.Capture` kept, the script's own output without Lightning's).

What counts as a line: the text split at newlines, each line as a terminal leaves it (after its
last carriage return) and without trailing whitespace; blank lines are left out (a conversion may
move a bare ``print()``; what a blank line says is nothing). Two lines agree when their text
outside numbers is identical and their numbers agree: equal as written, or, with a tolerance, as
values (``|a - b| <= tolerance * max(1, |a|, |b|)``, as for losses) or, for numbers written with
decimals, within one unit of the last decimal shown (a value rounded on either side of a printed
digit). Integers are never given that unit: counts must match.

The conversion gives an argparse script the Trainer's (or Fabric's) scaling flags
(`--accelerator`, `--devices`, `--num-nodes`, `--precision`, `--strategy`); a script that prints
its parsed arguments (`print(args)`, `print(vars(args))`) then prints them too. A converted line
that differs only by those entries agrees: they are the conversion's, not the script's output.

An object's default repr (`<PowBackward0 object at 0x7fa0d8deb790>`, `print(y.grad_fn)`) names
its memory address, which differs between any two runs, two runs of the original too: such
addresses agree whatever they are.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from converter.verify.compare import agree

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|\b(?:nan|inf)\b", re.I)


def lines(segments: list, label: object = ...) -> list[str]:
    """The printed lines of the segments with ``label`` (all of them when not given)."""
    text = "".join(t for seg_label, t in segments if label is ... or seg_label == label)
    out = []
    for line in text.split("\n"):
        line = line.rsplit("\r", 1)[-1].rstrip()
        if line:
            out.append(line)
    return out


def _decimals(number: str) -> int | None:
    mantissa = re.split(r"[eE]", number)[0]
    if "." not in mantissa or re.search(r"[eE]", number):
        return None
    return len(mantissa.split(".")[1])


def numbers_agree(x: str, y: str, tolerance: float) -> bool:
    if x == y:
        return True
    if tolerance == 0:
        return False
    a, b = float(x), float(y)
    if agree(a, b, tolerance):
        return True
    da, db = _decimals(x), _decimals(y)
    if da is None or db is None or math.isnan(a) or math.isnan(b):
        return False
    unit = 10.0 ** -min(da, db)
    return abs(a - b) <= unit * (1 + 1e-9)


# `, devices='auto'` in a Namespace repr, `, 'devices': 'auto'` in a dict's
_VALUE = "(?:'[^']*'|\"[^\"]*\"|[^,)}]*)"
_FLAGS = "(?:accelerator|devices|num_nodes|precision|strategy)"
_FLAG_ENTRY = re.compile(f"(?:, )?\\b{_FLAGS}={_VALUE}|(?:, )?'{_FLAGS}': {_VALUE}")


def without_scaling_flags(line: str) -> str:
    """`line` without the entries of the conversion's scaling flags (see the module's doc)."""
    if "Namespace(" not in line and "{" not in line:
        return line
    return _FLAG_ENTRY.sub("", line).replace("(, ", "(").replace("{, ", "{")


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


def lines_agree(x: str, y: str, tolerance: float, varying: frozenset[int] = frozenset()) -> bool:
    """``varying``: the indices of the numbers in the line that are not evidence (they differ
    between two runs of the original: a clock)."""
    if x == y:
        return True
    x, y = _ADDRESS.sub(" at 0x>", x), _ADDRESS.sub(" at 0x>", y)
    if x == y:
        return True
    stripped = without_scaling_flags(y)
    if stripped != y and lines_agree(x, stripped, tolerance, varying):
        return True
    if NUMBER.sub("#", x) != NUMBER.sub("#", y):
        return False
    pairs = enumerate(zip(NUMBER.findall(x), NUMBER.findall(y)))
    return all(i in varying or numbers_agree(u, v, tolerance) for i, (u, v) in pairs)


#: A whole line that differs between two runs of the original (its words change: a date).
WHOLE_LINE = None


def varying(
    first: list[str], second: list[str], tolerance: float = 0.0
) -> dict[int, frozenset[int] | None] | None:
    """What differs between two runs (of the original; of an epoch in another order): line index
    -> the indices of its numbers that changed beyond ``tolerance``, or ``WHOLE_LINE``; None when
    the two printed different numbers of lines (nothing can be lined up)."""
    if len(first) != len(second):
        return None
    found: dict[int, frozenset[int] | None] = {}
    for i, (x, y) in enumerate(zip(first, second)):
        if lines_agree(x, y, tolerance):
            continue
        if NUMBER.sub("#", x) != NUMBER.sub("#", y):
            found[i] = WHOLE_LINE
            continue
        pairs = enumerate(zip(NUMBER.findall(x), NUMBER.findall(y)))
        found[i] = frozenset(j for j, (u, v) in pairs if not numbers_agree(u, v, tolerance))
    return found


@dataclass
class PrintedComparison:
    original: list[str]
    converted: list[str]
    first_diff: int | None  # index of the first line that differs (or is missing on one side)
    prefix_only: bool  # a run was stopped early: only the common prefix was compared
    #: lines (their index) with numbers or words that differ between two runs of the original
    varying: dict = field(default_factory=dict)

    @property
    def compared(self) -> int:
        return min(len(self.original), len(self.converted))

    @property
    def equivalent(self) -> bool:
        return self.first_diff is None


def compare_lines(
    original: list[str],
    converted: list[str],
    tolerance: float,
    prefix_only: bool = False,
    varies: dict | None = None,
) -> PrintedComparison:
    """``varies``: what :func:`varying` found between two runs of the original."""
    varies = varies or {}
    first = None
    for i in range(min(len(original), len(converted))):
        if i in varies and varies[i] is WHOLE_LINE:
            continue
        if not lines_agree(original[i], converted[i], tolerance, varies.get(i) or frozenset()):
            first = i
            break
    if first is None and not prefix_only and len(original) != len(converted):
        first = min(len(original), len(converted))
    return PrintedComparison(original, converted, first, prefix_only, varies)


def count(lines) -> str:
    n = len(lines)
    return f"{n} line" if n == 1 else f"{n} lines"


def _show(line: str | None) -> str:
    return "(nothing more)" if line is None else line


def describe(c: PrintedComparison, names: tuple[str, str]) -> list[str]:
    """Detail lines: the counts, and the first difference side by side with the line before."""
    na, nb = len(c.original), len(c.converted)
    if c.equivalent:
        how = f"{count(range(c.compared))} compared ({names[0]} {na}, {names[1]} {nb})"
        if c.prefix_only and na != nb:
            how += ", up to the shorter output: a run stopped by --max-steps prints less"
        out = [f"printed output: {how}: the same"]
        if c.varying:
            shown = ", ".join(str(i + 1) for i in sorted(c.varying)[:8])
            more = ", ..." if len(c.varying) > 8 else ""
            out.append(
                f"  not evidence: {count(c.varying)} ({shown}{more}) differ between two runs of "
                f"the original itself (a clock, a date): their changing parts are not compared"
            )
        return out
    i = c.first_diff
    a = c.original[i] if i < na else None
    b = c.converted[i] if i < nb else None
    width = max(len(n) for n in names)
    counts = f"{names[0]}: {count(c.original)}, {names[1]}: {nb}"
    out = [f"printed output differs at line {i + 1} ({counts}):"]
    if i > 0:
        out.append(f"  {'both':>{width}} | {c.original[i - 1]}")
    out.append(f"  {names[0]:>{width}} | {_show(a)}")
    out.append(f"  {names[1]:>{width}} | {_show(b)}")
    return out


def verdict(c: PrintedComparison, names: tuple[str, str]) -> str:
    i = c.first_diff
    a = c.original[i] if i < len(c.original) else None
    b = c.converted[i] if i < len(c.converted) else None
    return f"DIVERGED: printed line {i + 1}: {names[0]} {_show(a)!r}, {names[1]} {_show(b)!r}"
