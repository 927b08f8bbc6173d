"""The safety net under every conversion: before anything is written, the converted code must
compile (CPython's own compiler, which also rejects what LibCST's parser accepts, such as `await`
outside a coroutine), must not read a name that nothing binds where the original read none, and
must convert to itself. A conversion that fails is declined with the reason: it is a converter
bug, and the user's file is left alone."""

from __future__ import annotations

import builtins
from collections.abc import Callable

import libcst as cst

from converter.analysis.index import SourceIndex

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
) -> str | None:
    """What is wrong with the converted `code`, or None.

    `converted_tree`: the tree the conversion printed as `code`, when the caller has it. Once
    `code` compiles, its analysis and second conversion start from that tree rather than from a
    parse of `code` (the same statements: a parse would cost a tenth of the whole conversion).
    """
    try:
        compile(code, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"it does not compile: {error.msg} (line {error.lineno})"
    except (ValueError, RecursionError, MemoryError) as error:
        return f"it does not compile: {error}"
    converted = SourceIndex(converted_tree or cst.parse_module(code), code)
    missing = unbound(converted) - unbound(source_index)
    if missing:
        names = ", ".join(f"`{name}`" for name in sorted(missing))
        return f"it reads {names}, which nothing binds"
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
