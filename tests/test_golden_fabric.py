"""Golden Fabric conversions: each tests/golden_fabric/<case>.in.py converts with
`--target fabric` to exactly <case>.out.py, and converting that again changes nothing.

The cases whose input starts with `# declines:` are scripts the Trainer conversion declines (the
words after it are in its reason): `--fallback fabric` must give the same Fabric conversion for
them, and say why."""

from __future__ import annotations

from pathlib import Path

import pytest

from converter import convert_source
from converter.report import FABRIC_HINT

GOLDEN = Path(__file__).parent / "golden_fabric"
CASES = sorted(p.name.removesuffix(".in.py") for p in GOLDEN.glob("*.in.py"))
TRAINER_DECLINES = [
    case
    for case in CASES
    if (GOLDEN / f"{case}.in.py").read_text().startswith("# declines:") or case in ("train_until",)
]


def _source(case: str) -> str:
    return (GOLDEN / f"{case}.in.py").read_text()


def _expected(case: str) -> str:
    return (GOLDEN / f"{case}.out.py").read_text()


def test_every_case_has_an_expected_output():
    assert len(CASES) >= 10
    assert all((GOLDEN / f"{case}.out.py").exists() for case in CASES)
    assert len(TRAINER_DECLINES) >= 6


@pytest.mark.parametrize("case", CASES)
def test_conversion_matches_golden(case):
    result = convert_source(_source(case), target="fabric", filename=f"{case}.in.py")
    assert not result.report.declined, result.report.text()
    assert result.code == _expected(case)


@pytest.mark.parametrize("case", CASES)
def test_converting_the_output_again_changes_nothing(case):
    converted = _expected(case)
    again = convert_source(converted, target="fabric")
    assert again.code == converted
    assert "uses Lightning already" in again.report.declined[0].message
    assert convert_source(converted, fallback="fabric").code == converted  # nor the Trainer


def test_the_safety_net_checks_fabric_conversions_too(monkeypatch):
    from converter import output_check

    monkeypatch.setattr(
        output_check, "problem", lambda *args: "it reads `fabrik`, which nothing binds"
    )
    result = convert_source(_source("gan"), target="fabric", filename="gan.py")
    assert result.code == _source("gan")
    (entry,) = result.report.declined
    assert entry.kind == "internal"
    assert "the conversion failed its own check (it reads `fabrik`" in entry.message


@pytest.mark.parametrize("case", TRAINER_DECLINES)
def test_the_fallback_converts_what_the_trainer_declines_and_says_why(case):
    source = _source(case)
    trainer = convert_source(source, filename=f"{case}.in.py")
    assert not trainer.changed and trainer.report.declined
    result = convert_source(source, filename=f"{case}.in.py", fallback="fabric")
    assert result.code == _expected(case)
    first = result.report.changed[0]
    assert first.kind == "fallback"
    assert first.message.startswith("converted to Fabric: the Trainer conversion declined (")
    # the Trainer's reason, less its hint to use the fallback that was used
    assert trainer.report.declined[0].message.removesuffix(FABRIC_HINT) in first.message
    assert first.line == trainer.report.declined[0].line >= 1


@pytest.mark.parametrize("case", CASES)
def test_report_names_optimizers_loops_and_changes_with_lines(case):
    report = convert_source(_source(case), target="fabric").report
    assert {"optimizer", "loop"} <= {entry.kind for entry in report.found}
    assert {"fabric", "setup", "backward"} <= {entry.kind for entry in report.changed}
    assert all(entry.line > 0 for entry in report.found + report.changed)


def test_a_script_the_trainer_converts_keeps_its_trainer_conversion_under_the_fallback():
    source = (Path(__file__).parent / "golden" / "gan.in.py").read_text()
    assert convert_source(source, fallback="fabric").code == convert_source(source).code
