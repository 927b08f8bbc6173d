"""Structural patterns over LibCST nodes, written as with ``libcst.matchers``:
``m.matches(node, m.Call(func=m.Attribute(attr=m.Name("step")), args=[m.ZeroOrMore()]))``.

Only the part of ``libcst.matchers`` the converter uses: a pattern per node type
(``m.Call(...)``, fields by keyword or in the node's field order), ``|`` and ``OneOf``,
``ZeroOrMore`` in a list of patterns, ``DoNotCare`` and ``matches``. The semantics are LibCST's:
a node matches when its type is the pattern's and each field given matches (a pattern, a list of
patterns, or a plain value compared with ``==``); fields not given match anything.

Why not ``libcst.matchers`` itself: importing it defines a dataclass for every node type, 0.2 s
of CPU, a fifth of ``convert --check`` over a tree of scripts (``benchmarks/throughput.py``).
``tests/test_match.py`` checks that both agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cache

import libcst as cst


class Pattern:
    def matches(self, value: object) -> bool:
        raise NotImplementedError

    def __or__(self, other: object) -> OneOf:
        return OneOf(self, other)

    def __ror__(self, other: object) -> OneOf:
        return OneOf(other, self)


class NodePattern(Pattern):
    __slots__ = ("kind", "fields")

    def __init__(self, kind: type[cst.CSTNode], fields: dict[str, object]) -> None:
        self.kind, self.fields = kind, fields

    def matches(self, value: object) -> bool:
        if type(value) is not self.kind:
            return False
        return all(_matches(getattr(value, name), want) for name, want in self.fields.items())

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.fields.items())
        return f"m.{self.kind.__name__}({fields})"


class OneOf(Pattern):
    __slots__ = ("options",)

    def __init__(self, *options: object) -> None:
        flat: list[object] = []
        for option in options:
            flat += option.options if isinstance(option, OneOf) else [option]
        self.options = tuple(flat)

    def matches(self, value: object) -> bool:
        return any(_matches(value, option) for option in self.options)


class _DoNotCare(Pattern):
    def matches(self, value: object) -> bool:
        return True


_ANYTHING = _DoNotCare()


def DoNotCare() -> Pattern:  # noqa: N802 (named as in libcst.matchers)
    return _ANYTHING


class ZeroOrMore:
    """In a list of patterns: any number of consecutive items that each match `pattern`."""

    __slots__ = ("pattern",)

    def __init__(self, pattern: object = _ANYTHING) -> None:
        self.pattern = pattern


def matches(node: object, pattern: object) -> bool:
    return node is not None and _matches(node, pattern)


def _matches(value: object, want: object) -> bool:
    if isinstance(want, Pattern):
        return want.matches(value)
    if isinstance(want, (list, tuple)):
        return isinstance(value, Sequence) and _sequence(list(value), 0, list(want), 0)
    return value == want


def _sequence(values: list, i: int, wants: list, j: int) -> bool:
    """Whether values[i:] matches wants[j:] (ZeroOrMore takes as few or as many as it needs)."""
    if j == len(wants):
        return i == len(values)
    want = wants[j]
    if isinstance(want, ZeroOrMore):
        k = i
        while True:
            if _sequence(values, k, wants, j + 1):
                return True
            if k == len(values) or not _matches(values[k], want.pattern):
                return False
            k += 1
    return i < len(values) and _matches(values[i], want) and _sequence(values, i + 1, wants, j + 1)


@cache
def _factory(name: str):
    kind = getattr(cst, name)
    order = [f.name for f in dataclasses.fields(kind)]
    known = frozenset(order)

    def pattern(*args: object, **fields: object) -> NodePattern:
        if not fields.keys() <= known:
            raise TypeError(f"m.{name}() has no field {sorted(fields.keys() - known)[0]!r}")
        if not args:  # the usual spelling, by keyword only
            return NodePattern(kind, fields)
        if len(args) > len(order):
            raise TypeError(f"m.{name}() takes at most {len(order)} positional patterns")
        given = dict(zip(order, args))
        twice = given.keys() & fields.keys()
        if twice:
            raise TypeError(f"m.{name}() got {sorted(twice)[0]!r} twice")
        return NodePattern(kind, {**given, **fields})

    pattern.__name__ = name
    return pattern


def __getattr__(name: str):
    """``m.Call``, ``m.Name``...: the pattern of the LibCST node type of that name."""
    kind = getattr(cst, name, None)
    if not (isinstance(kind, type) and issubclass(kind, cst.CSTNode)):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    factory = globals()[name] = _factory(name)  # found directly from now on
    return factory
