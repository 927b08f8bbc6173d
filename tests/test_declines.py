"""Scripts the converter must leave alone: byte-identical output and a reason in the report.

Each tests/declines/*.py starts with `# declines: <words the reason must contain>`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from converter import convert_source

DECLINES = sorted((Path(__file__).parent / "declines").glob("*.py"))


@pytest.mark.parametrize("path", DECLINES, ids=lambda p: p.stem)
def test_declined_script_is_left_byte_identical_with_a_reason(path):
    source = path.read_text()
    expected = source.splitlines()[0].removeprefix("# declines:").strip()
    result = convert_source(source, filename=path.name)
    assert result.code == source
    assert not result.changed
    reasons = " | ".join(e.message for e in result.report.declined)
    assert expected in reasons, result.report.text()
    assert all(e.line >= 1 for e in result.report.declined), result.report.text()
