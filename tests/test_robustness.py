"""The converter never crashes on real-world Python and leaves code without training untouched.

A deterministic sample of ~200 small standard library files (see
``benchmarks/stdlib_robustness.py``, which runs over all of it) goes through ``convert_source``:
nothing may raise (other than LibCST's ParserSyntaxError for the few files that are not Python 3
on purpose), and every output must be byte-identical to its input, since the standard library holds
no training loop. The sample includes the turtle demos, which call ``turtle.backward()`` inside
loops and so reach the converter's training-loop analysis.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "stdlib_robustness.py"
_spec = importlib.util.spec_from_file_location("stdlib_robustness", _BENCH)
robustness = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("stdlib_robustness", robustness)  # its dataclasses look themselves up
_spec.loader.exec_module(robustness)

SAMPLE_SIZE = 200
MAX_LINES = 100  # small files keep the whole sample at a few seconds
ALWAYS = (  # turtle's backward() inside loops: looks like training to a first glance
    "turtledemo/bytedesign.py",
    "turtledemo/lindenmayer.py",
    "turtledemo/peace.py",
    "turtledemo/yinyang.py",
)


def _sample() -> tuple[Path, list[Path]]:
    root = robustness.stdlib_root().resolve()
    files = robustness.stdlib_files(root)
    picked = robustness.sample(files, root, SAMPLE_SIZE - len(ALWAYS), MAX_LINES)
    extra = [root / rel for rel in ALWAYS if (root / rel).is_file()]
    return root, sorted(set(picked) | set(extra))


ROOT, SAMPLE = _sample()


def test_sample_is_deterministic_and_large_enough():
    assert len(SAMPLE) >= 150, f"only {len(SAMPLE)} standard library files found under {ROOT}"
    assert _sample()[1] == SAMPLE


def test_stdlib_sample_declined_byte_identical():
    outcomes, _ = robustness.run(SAMPLE, ROOT, timeout=60)
    problems = [o for o in outcomes if o.status in robustness.PROBLEMS]
    report = "\n\n".join(f"{o.status}: {o.path}\n{o.detail}" for o in problems)
    assert not problems, report
    checked = [o for o in outcomes if o.status == robustness.OK]
    # a handful of files are deliberately not Python 3 (lib2to3 data, bad-syntax test inputs)
    assert len(checked) >= len(SAMPLE) - 10


@pytest.mark.parametrize("rel", ALWAYS)
def test_turtle_backward_loops_are_not_training(rel):
    path = ROOT / rel
    if not path.is_file():
        pytest.skip(f"{rel} is not installed")
    outcome = robustness.check_file(path, ROOT)
    assert outcome.status == robustness.OK, outcome.detail
