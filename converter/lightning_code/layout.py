"""How generated code is laid out: keyword arguments, one argument a line, blank lines, imports."""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m

BLANK = cst.EmptyLine(indent=False)


def one_argument_per_line(statement: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """`trainer = pl.Trainer(` with one option a line and a trailing comma, as black writes it."""

    def line_break(indent: str) -> cst.ParenthesizedWhitespace:
        return cst.ParenthesizedWhitespace(indent=True, last_line=cst.SimpleWhitespace(indent))

    call = statement.body[0].value
    args = [a.with_changes(comma=cst.Comma(whitespace_after=line_break("    "))) for a in call.args]
    args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=line_break("")))
    call = call.with_changes(whitespace_before_args=line_break("    "), args=args)
    return statement.with_changes(body=[statement.body[0].with_changes(value=call)])


def kwarg(name: str, value: cst.BaseExpression) -> cst.Arg:
    tight = cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
    )
    return cst.Arg(value=value, keyword=cst.Name(name), equal=tight)


def insert_imports(module: cst.Module, lines: list[str]) -> cst.Module:
    """`lines` (import statements) after the script's own leading imports (and docstring)."""
    if not lines:
        return module
    body = list(module.body)
    last_import = None
    for position, item in enumerate(body):
        if m.matches(item, m.SimpleStatementLine(body=[m.Import() | m.ImportFrom()])):
            last_import = position
        elif not (
            position == 0
            and m.matches(item, m.SimpleStatementLine(body=[m.Expr(m.SimpleString())]))
        ):
            break
    at = 0 if last_import is None else last_import + 1
    statements = [cst.parse_statement(line) for line in lines]
    return module.with_changes(body=body[:at] + statements + body[at:])
