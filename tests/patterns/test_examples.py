"""Every pattern carries its own example (`converter.targets.trainer.patterns.base.Example`):
the example converts as shown, and docs/patterns.md, made from the examples, is current."""

from __future__ import annotations

import subprocess
import sys

import pytest

from converter import convert_source
from converter.targets.trainer.patterns import PATTERNS
from converter.targets.trainer.patterns.catalog import PAGE, markdown


def test_every_pattern_has_an_example():
    missing = [p.name for p in PATTERNS if p.example is None]
    assert missing == []
    assert len({p.name for p in PATTERNS}) == len(PATTERNS)


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_the_example_converts_as_shown(pattern):
    example = pattern.example
    result = convert_source(example.before, filename=f"{pattern.name}.py")
    assert result.changed, result.report.text()
    at = 0
    for block in example.blocks():
        found = result.code.find(block, at)
        assert found >= 0, f"not in the conversion (after offset {at}):\n{block}\n{result.code}"
        at = found + len(block)
    assert convert_source(result.code).code == result.code  # the conversion converts to itself


def test_the_docs_table_is_current():
    assert PAGE.read_text(encoding="utf-8") == markdown(), (
        "docs/patterns.md is stale: "
        "run python -m converter.targets.trainer.patterns.catalog --write"
    )
    check = subprocess.run(
        [sys.executable, "-m", "converter.targets.trainer.patterns.catalog", "--check"],
        capture_output=True,
    )
    assert check.returncode == 0, check.stdout
