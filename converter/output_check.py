"""The safety net under every conversion: before anything is written, the converted code must
compile (CPython's own compiler, which also rejects what LibCST's parser accepts, such as `await`
outside a coroutine), must not read a name that nothing binds where the original read none, and
must convert to itself. A conversion that fails is declined with the reason: it is a converter
bug, and the user's file is left alone."""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Callable

import libcst as cst

from converter.analysis import match as m
from converter.analysis.index import SourceIndex
from converter.analysis.walk import find

_MODULE_NAMES = {
    "__file__",
    "__name__",
    "__doc__",
    "__spec__",
    "__loader__",
    "__package__",
    "__builtins__",
    "__path__",
    "__annotations__",
    "__dict__",
    "__qualname__",
    "__module__",
    "__class__",
    "__debug__",
}
_BOUND_ANYWAY = frozenset(dir(builtins)) | _MODULE_NAMES


def problem(
    source_index: SourceIndex,
    code: str,
    filename: str,
    convert_again: Callable[[SourceIndex], str],
    converted_tree: cst.Module | None = None,
    converted_index: SourceIndex | None = None,
) -> str | None:
    """What is wrong with the converted `code`, or None.

    `converted_tree`: the tree the conversion printed as `code`, when the caller has it. Once
    `code` compiles, its analysis and second conversion start from that tree rather than from a
    parse of `code` (the same statements: a parse would cost a tenth of the whole conversion).
    `converted_index`: that tree's index, when the caller has it.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning, DeprecationWarning: the script's own
            compile(code, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"it does not compile: {error.msg} (line {error.lineno})"
    except (ValueError, RecursionError, MemoryError) as error:
        return f"it does not compile: {error}"
    converted = converted_index or SourceIndex(converted_tree or cst.parse_module(code), code)
    missing = unbound(converted) - unbound(source_index)
    if missing:
        names = ", ".join(f"`{name}`" for name in sorted(missing))
        return f"it reads {names}, which nothing binds"
    early = read_before_bound(converted) - read_before_bound(source_index)
    if early:
        names = ", ".join(f"`{name}`" for name in sorted(early))
        return f"its top-level code reads {names} before any statement binds it"
    unsaved = unsaved_hyperparameters(converted) - unsaved_hyperparameters(source_index)
    if unsaved:
        names = ", ".join(f"`self.hparams.{name}`" for name in sorted(unsaved))
        return f"it reads {names}, which the module's __init__ does not save"
    if convert_again(converted) != code:
        return "converting it again changes it"
    return None


def unbound(index: SourceIndex) -> set[str]:
    """Names some code reads that no scope it can see binds (nor the builtins). Empty when a
    star import could bind anything."""
    if any(isinstance(i.names, cst.ImportStar) for i in index.nodes(cst.ImportFrom)):
        return set()
    missing = set()
    for scope in index.scopes():
        for name in scope.accesses_by_name():
            if name not in _BOUND_ANYWAY and scope.lookup(name) is None:
                missing.add(name)
    return missing


def read_before_bound(index: SourceIndex) -> set[str]:
    """Names the script's top-level code reads above every statement that binds them, outside
    any loop (where an earlier round may have bound them): a NameError when it runs. (A
    Trainer created where the loop was cannot read a device chosen further down.)"""
    module = index.body_scope(None)
    early = set()
    for name, accesses in module.accesses_by_name().items():
        bound = [index.order(a.node) for a in module.assignments[name]]
        if not bound:
            continue  # a builtin, or `unbound` says so
        for access in accesses:
            if index.order(access.node) < min(bound) and index.enclosing_loop(access.node) is None:
                early.add(name)
    return early


def unsaved_hyperparameters(index: SourceIndex) -> set[str]:
    """`self.hparams.x` read in a class whose `__init__` calls `self.save_hyperparameters(...)`
    but has no parameter `x` it saves (an AttributeError when the hook runs)."""
    missing = set()
    for cls in index.nodes(cst.ClassDef):
        init = next(
            (
                s
                for s in cls.body.body
                if isinstance(s, cst.FunctionDef) and s.name.value == "__init__"
            ),
            None,
        )
        saved = _saved(init) if init is not None else None
        if saved is None:
            continue
        for attribute in find(cls, cst.Attribute):
            if m.matches(attribute.value, _HPARAMS) and attribute.attr.value not in saved:
                missing.add(attribute.attr.value)
    return missing


_HPARAMS = m.Attribute(value=m.Name("self"), attr=m.Name("hparams"))
_SAVE = m.Call(func=m.Attribute(value=m.Name("self"), attr=m.Name("save_hyperparameters")))


def _saved(init: cst.FunctionDef) -> set[str] | None:
    """The names `save_hyperparameters` saves in this `__init__`; None when it is not called,
    or when what it saves cannot be told (`**kwargs`, names not written as strings)."""
    calls = [c for c in find(init.body, cst.Call) if m.matches(c, _SAVE)]
    if len(calls) != 1 or init.params.star_kwarg is not None:
        return None
    params = init.params
    names = {p.name.value for p in [*params.posonly_params, *params.params, *params.kwonly_params]}
    names.discard("self")
    ignored: set[str] = set()
    chosen: set[str] = set()
    for arg in calls[0].args:
        strings = [arg.value] if isinstance(arg.value, cst.SimpleString) else []
        if isinstance(arg.value, (cst.List, cst.Tuple)):
            strings = [e.value for e in arg.value.elements]
        if not all(isinstance(v, cst.SimpleString) for v in strings) or not strings:
            if arg.keyword is None or arg.keyword.value == "ignore":
                return None  # `save_hyperparameters(args)`, `ignore=IGNORED`: not for us to tell
            continue
        values = {v.evaluated_value for v in strings}
        if arg.keyword is not None and arg.keyword.value == "ignore":
            ignored |= values
        elif arg.keyword is None:
            chosen |= values
    return (chosen or names) - ignored
