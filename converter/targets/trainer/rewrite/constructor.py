"""The module's `__init__`: new keyword parameters, and statements right after the base's
`__init__` (save_hyperparameters, attributes, the loop's state, manual optimization)."""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.templating import fill

_SUPER_INIT = m.SimpleStatementLine(
    body=[m.Expr(m.Call(func=m.Attribute(attr=m.Name("__init__"))))]
)


def extend_init(
    init: cst.FunctionDef, parameters: list[cst.Param], statements: list[cst.BaseStatement]
) -> cst.FunctionDef:
    """`init` with `parameters` added (keyword-only after a `*args`, else at the end) and
    `statements` after its call of the base's `__init__` (at its start when there is none)."""
    params = init.params
    if parameters:
        if isinstance(params.star_arg, cst.Param):
            params = params.with_changes(kwonly_params=[*params.kwonly_params, *parameters])
        else:
            params = params.with_changes(params=[*params.params, *parameters])
    body = list(init.body.body)
    at = next((i + 1 for i, s in enumerate(body) if m.matches(s, _SUPER_INIT)), 0)
    body[at:at] = statements
    return init.with_changes(params=params, body=init.body.with_changes(body=body))


def new_init(parameters: list[cst.Param], statements: list[cst.BaseStatement]) -> cst.FunctionDef:
    """For a class that inherits its `__init__`: one that passes everything on to it."""
    (init,) = fill("forwarding_init", body=statements)
    params = init.params.with_changes(kwonly_params=list(parameters))
    return init.with_changes(params=params)
