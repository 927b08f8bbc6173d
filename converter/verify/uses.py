"""``verify --lightning-uses``: judge what the conversion did when used as a Lightning user goes on
to use it (the run itself: :mod:`~converter.verify.use_hooks`).

Pure Python: runs in the CLI process on the trace of that run. Every use must work: ``validate``,
``test`` and ``predict`` alone on a fresh and on the trained module, the script's own ``fit``
with the default sanity check and ``check_val_every_n_epoch=2``, a module reloaded from a
checkpoint giving the trained module's numbers. And what the logger gets must be what the script
prints: each value ``validate``/``test`` of the trained module return must be one of the numbers
printed during that call (as printed: rounded to its decimals, as a percentage, or a printed
``count/total``), so that a logged sum beside a printed mean is found.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from converter.verify import printed

SKIPPED, FAILED, OK = "skip", "FAIL", "ok"


@dataclass
class UseCheck:
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (status, check, detail)

    @property
    def problems(self) -> list[str]:
        return [f"{check}: {detail}" for status, check, detail in self.rows if status == FAILED]

    @property
    def equivalent(self) -> bool:
        return not self.problems

    def details(self) -> list[str]:
        width = max(len(s) for s in (SKIPPED, FAILED, OK))
        return [
            f"  {status:<{width}}  {check}" + (f": {detail}" if detail else "")
            for status, check, detail in self.rows
        ]


@dataclass(frozen=True)
class Unseen:
    """The run's error, raised by a line of the script's own code after fit that the conversion
    left as it was, where the original's run stopped (--max-steps) before reaching it."""

    error: str
    line: int
    text: str

    def __str__(self) -> str:
        return self.error


def judge(trace: dict, error: str | Unseen | None, timed_out: bool = False) -> UseCheck:
    """``error``: the run's own failure (the script's fit, or the script after it), or None;
    ``timed_out``: --timeout stopped the run, so what it did not reach is not judged."""
    result = UseCheck()
    fitted = False
    for entry in trace.get("uses") or ():
        check = entry["check"]
        fitted = fitted or check.startswith("fit ")
        if "error" in entry:
            result.rows.append((FAILED, check, entry["error"]))
            continue
        if "skipped" in entry:
            result.rows.append((SKIPPED, check, entry["skipped"].removeprefix("skipped: ")))
            continue
        result.rows.append((OK, check, ""))
        evaluates = check.split()[0] in ("validate", "test")
        if evaluates and check.endswith("the trained module") and "returned" in entry:
            unprinted = _unprinted(entry["returned"], entry["printed"])
            if unprinted is not None:
                stage = check.split()[0]
                result.rows.append(
                    (FAILED if unprinted else OK, f"{stage}: logged = printed", unprinted)
                )
    if timed_out:
        result.rows.append((SKIPPED, "the rest of the uses", f"{error}: not judged"))
    elif isinstance(error, Unseen) and fitted:
        result.rows.append(
            (
                SKIPPED,
                "the script after fit",
                f"{error.error} (line {error.line}: {error.text}), code of the original's own "
                "that its run, stopped by --max-steps, never reached",
            )
        )
    elif error is not None:
        where = "fit with the default sanity check and check_val_every_n_epoch=2"
        result.rows.append((FAILED, where if not fitted else "the script after fit", str(error)))
    return result


def _unprinted(returned, text: str) -> str | None:
    """What the logger got that the script did not print ("" when all of it was), or None when
    there is nothing to compare (nothing printed, or nothing logged)."""
    numbers = [n for line in printed.lines([[None, text]]) for n in printed.NUMBER.findall(line)]
    metrics = {}
    for per_loader in returned or ():
        if isinstance(per_loader, dict):
            metrics.update(per_loader)
    if not numbers or not metrics:
        return None
    ratios = [float(a) / float(b) for a, b in _fractions(text)]
    missing = [
        f"{name} = {value:.6g}"
        for name, value in metrics.items()
        if isinstance(value, (int, float))
        and not any(_shows(n, value) for n in numbers)
        and not any(abs(r - value) <= 1e-6 * max(1.0, abs(r)) for r in ratios)
    ]
    if not missing:
        return ""
    shown = ", ".join(numbers[:6]) + (", ..." if len(numbers) > 6 else "")
    return f"the logger gets {', '.join(missing)}, which the script does not print ({shown})"


_FRACTION = re.compile(r"(\d+)\s*/\s*(\d+)")


def _fractions(text: str) -> list[tuple[str, str]]:
    """``143/256``: a count printed over its total, which a logged rate (0.5586) shows."""
    return [(a, b) for a, b in _FRACTION.findall(text) if int(b)]


def _shows(number: str, value: float) -> bool:
    """Whether ``number``, as printed, shows ``value`` (or ``value`` as a percentage)."""
    try:
        shown = float(number)
    except ValueError:
        return False
    if not math.isfinite(shown) or not math.isfinite(value):
        return shown == value or (math.isnan(shown) and math.isnan(value))
    mantissa = number.lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    unit = 10.0**-decimals if "e" not in number.lower() else abs(shown) * 1e-6
    # Lightning logs a Python float as a float32 tensor: a full-precision print agrees to 2**-23
    unit = max(unit, abs(shown) * 2.0**-23)
    return any(abs(v - shown) <= unit * (1 + 1e-9) for v in (value, 100 * value))
