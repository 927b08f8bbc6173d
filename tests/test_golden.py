"""Golden conversions: each tests/golden/<case>.in.py converts to exactly <case>.out.py
(and <case>.lightning.out.py for the `lightning` target where present)."""

from __future__ import annotations

from pathlib import Path

import pytest

from converter import convert_source

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name.removesuffix(".in.py") for p in GOLDEN.glob("*.in.py"))
TARGETS = {"out": "pytorch_lightning", "lightning.out": "lightning"}
PAIRS = [
    (case, suffix)
    for case in CASES
    for suffix in TARGETS
    if (GOLDEN / f"{case}.{suffix}.py").exists()
]


def test_every_case_has_an_expected_output():
    assert CASES, "no golden cases found"
    assert {case for case, _ in PAIRS} == set(CASES)


@pytest.mark.parametrize(("case", "suffix"), PAIRS)
def test_conversion_matches_golden(case, suffix):
    source = (GOLDEN / f"{case}.in.py").read_text()
    expected = (GOLDEN / f"{case}.{suffix}.py").read_text()
    result = convert_source(source, target=TARGETS[suffix], filename=f"{case}.in.py")
    assert not result.report.declined, result.report.text()
    assert result.code == expected


@pytest.mark.parametrize(("case", "suffix"), PAIRS)
def test_converting_the_output_again_changes_nothing(case, suffix):
    converted = (GOLDEN / f"{case}.{suffix}.py").read_text()
    again = convert_source(converted, target=TARGETS[suffix])
    assert again.code == converted


@pytest.mark.parametrize("case", CASES)
def test_report_names_what_was_found_with_lines(case):
    report = convert_source((GOLDEN / f"{case}.in.py").read_text()).report
    kinds = {entry.kind for entry in report.found}
    assert {"optimizer", "loop"} <= kinds
    assert all(entry.line > 0 for entry in report.found + report.changed)
