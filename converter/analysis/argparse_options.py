"""The script's argparse options: which variable holds the parsed namespace, and each option's
default as written in `parser.add_argument(...)`.

A setting read as `args.lr` becomes a constructor argument of a generated class (the
LightningModule's, the DataModule's); its default there is the option's, so that the class
built without arguments (`Net.load_from_checkpoint(path)`, a notebook, a config file) is the
one the script builds when run without flags.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import code
from converter.analysis.index import SourceIndex
from converter.analysis.values import is_plain
from converter.analysis.walk import find


def is_parse_args(statement: cst.BaseStatement | None) -> bool:
    """`args = parser.parse_args()` (or `parse_known_args`' first item is not: only this)."""
    return m.matches(
        statement,
        m.SimpleStatementLine(
            body=[
                m.Assign(
                    targets=[m.AssignTarget(m.Name())],
                    value=m.Call(func=m.Attribute(value=m.Name(), attr=m.Name("parse_args"))),
                )
            ]
        ),
    )


def parser_defaults(
    index: SourceIndex, namespace_binding: cst.SimpleStatementLine, scope
) -> dict[str, cst.BaseExpression]:
    """Each option's default as written in `parser.add_argument(...)`, when it is plain data,
    for the parser whose `parse_args()` binds the namespace."""
    call = namespace_binding.body[0].value
    parser = call.func.value.value if isinstance(call.func.value, cst.Name) else None
    found = {}
    adds = m.Attribute(value=m.Name(parser), attr=m.Name("add_argument"))
    for add in index.nodes(cst.Call):
        if not m.matches(add.func, adds):
            continue
        keywords = {a.keyword.value: a.value for a in add.args if a.keyword is not None}
        flags = [
            a.value.evaluated_value
            for a in add.args
            if a.keyword is None and isinstance(a.value, cst.SimpleString)
        ]
        dest = keywords.get("dest")
        if isinstance(dest, cst.SimpleString):
            name = dest.evaluated_value
        else:
            longs = [f for f in flags if f.startswith("--")] or flags
            if not longs:
                continue
            name = longs[0].lstrip("-").replace("-", "_")
        default = keywords.get("default")
        action = keywords.get("action")
        if default is None and isinstance(action, cst.SimpleString):
            default = {"store_true": cst.Name("False"), "store_false": cst.Name("True")}.get(
                action.evaluated_value
            )
        if default is not None and is_plain(index, scope, default, set()):
            if not find(default, cst.Name) or code(default) in ("True", "False", "None"):
                found[name] = default
    return found
