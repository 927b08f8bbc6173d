"""`fabric` for the functions that need it: where Fabric lives in a function (`main()`), a
module-level function that now uses it (it trains, prints or evaluates, called from there)
receives it as its last parameter, keyword-only after parameters with defaults, and every call
passes it."""

from __future__ import annotations

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.targets.fabric.context import Context
from converter.targets.fabric.reach import Reach, references


def pass_fabric(index: SourceIndex, reach: Reach, ctx: Context) -> None:
    """Module-level functions that now use `fabric` while it lives in a function receive it as
    their last parameter, from every call."""
    parameter = set(reach.parameter_functions())
    needing: set[cst.FunctionDef] = set()
    pending = list(ctx.uses)
    while pending:
        node = pending.pop()
        for function in _enclosing_functions(index, node):
            if function in parameter and function not in needing:
                needing.add(function)
                pending += [call for call in references(index, function) if call is not None]
    fabric = ctx.fabric
    for function in needing:
        keyword = _keyword_only(function)
        ctx.edits.on(function, lambda u, k=keyword: _add_parameter(u, fabric, k))
        for call in references(index, function):
            if call is not None:
                by_name = keyword or any(a.keyword is not None or a.star for a in call.args)
                ctx.edits.on(call, lambda u, k=by_name: _add_argument(u, fabric, k))


def _enclosing_functions(index: SourceIndex, node: cst.CSTNode):
    for ancestor in index.ancestors(node):
        if isinstance(ancestor, cst.FunctionDef):
            yield ancestor


def _keyword_only(function: cst.FunctionDef) -> bool:
    params = function.params
    return (
        not isinstance(params.star_arg, cst.MaybeSentinel)
        or bool(params.kwonly_params)
        or any(p.default is not None for p in params.params)
    )


def _add_parameter(function: cst.FunctionDef, name: str, keyword: bool) -> cst.FunctionDef:
    params = function.params
    if keyword:
        star = params.star_arg
        if isinstance(star, cst.MaybeSentinel):
            star = cst.ParamStar()
        kwonly = _appended(
            list(params.kwonly_params), cst.Param(cst.Name(name)), function.whitespace_before_params
        )
        params = params.with_changes(star_arg=star, kwonly_params=kwonly)
    else:
        params = params.with_changes(
            params=_appended(
                list(params.params), cst.Param(cst.Name(name)), function.whitespace_before_params
            )
        )
    return function.with_changes(params=params)


def _add_argument(call: cst.Call, name: str, keyword: bool) -> cst.Call:
    arg = (
        cst.Arg(cst.Name(name), keyword=cst.Name(name), equal=_TIGHT)
        if keyword
        else cst.Arg(cst.Name(name))
    )
    return call.with_changes(args=_appended(list(call.args), arg, call.whitespace_before_args))


_TIGHT = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


def _appended(items: list, item, opening):
    """`item` after `items`, keeping the layout of a trailing comma (one item per line): the
    new item is separated like the others (or as the first is from the opening bracket)."""
    if items and isinstance(items[-1].comma, cst.Comma):
        item = item.with_changes(comma=items[-1].comma)
        between = items[-2].comma if len(items) > 1 else cst.Comma(whitespace_after=opening)
        items[-1] = items[-1].with_changes(comma=between)
    elif items:
        items[-1] = items[-1].with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
    return [*items, item]
