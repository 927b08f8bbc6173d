"""convert_source: parse, analyse (read only), then rewrite from the analysis' findings."""

from __future__ import annotations

from converter.report import ConversionResult, Report

TARGETS = ("pytorch_lightning", "lightning")


def convert_source(
    source: str, target: str = "pytorch_lightning", filename: str = "<string>"
) -> ConversionResult:
    """Convert one script's source. Returns the input unchanged (with reasons) when it declines.

    Raises ``libcst.ParserSyntaxError`` when the source does not parse.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    report = Report(filename=filename)
    report.decline("file", 1, "converter not implemented yet")
    return ConversionResult(source=source, code=source, report=report)
