"""Training functions a script imports from its own modules, copied in to convert with it.

A common layout keeps the epoch loop in `train.py` and the batch loop in a module beside it:
`from utils import train_one_epoch`, or `import engine` ... `engine.train_one_epoch(...)`. The
conversion works on one file, so the functions the script calls that train (they call
`.backward()`) are copied into it after its imports, and what they read from their own module
is imported from there (a name that module imports is imported the same way). The module itself
is not touched: other scripts (`predict.py`, `train_multi_gpu.py`) keep importing it as it is.

`python train.py` puts the script's folder first on `sys.path`, so `utils` means `utils.py` (or
the package `utils/`) beside the script: that is where the modules are read (``Modules``).

Only a script that calls no `.backward()` itself gets functions copied in: a script with a loop
of its own converts exactly as before. The report's lines stay the script's: an entry about a
copied function's code points at the import that brought it in and names the module's line.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from converter.analysis import match as m
from converter.analysis.bindings import module_reads
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined
from converter.analysis.torch_api import BACKWARD_CALL
from converter.analysis.walk import find
from converter.parsing import SourceRejected, parse_module
from converter.report import ConversionResult, Entry, Report

_BACKWARD_CALL = re.compile(r"\.\s*backward\s*\(")
#: Names a module binds for itself: a copy would read the script's.
_MODULE_OWN = {"__file__", "__name__", "__spec__", "__package__", "__loader__", "__path__"}
#: "line N" in a message of the conversion of the text with the copies: a line of that text.
_LINE_IN_MESSAGE = re.compile(r"\bline (\d+)\b")
_DEPTH = 4  # re-exports followed (`utils/__init__.py`: `from .train import train_one_epoch`)


@dataclass(frozen=True)
class Module:
    """A module of the script's own: ``dotted`` as imported, ``display`` as the report names it."""

    dotted: str
    display: str
    text: str
    package: bool  # an `__init__.py`: its relative imports start from itself


#: A dotted module name -> (the path the report shows, its text, whether it is a package's
#: `__init__.py`) for a module beside the script, or None (not one of the script's own).
Modules = Callable[[str], "tuple[str, str, bool] | None"]


class _Source:
    """A module parsed once: its tree, what the analysis reads, and (when first asked for, as
    LibCST computes them for the whole tree) the nodes' positions."""

    def __init__(self, module: Module, wrapper: MetadataWrapper) -> None:
        self.module = module
        self.wrapper = wrapper
        self.index = SourceIndex(wrapper.module, module.text)
        self._positions: dict | None = None

    @property
    def positions(self) -> dict:
        if self._positions is None:
            self._positions = self.wrapper.resolve(PositionProvider)
        return self._positions


@dataclass
class _Copy:
    name: str
    source: _Source
    function: cst.FunctionDef
    at: int  # the script's line that imports it (or reaches it through its module)
    renamed: dict[cst.Name, str] = field(default_factory=dict)  # reads of a name taken here

    @property
    def line(self) -> int:
        """The def's first line in its module (its first decorator's)."""
        first = self.function.decorators[0] if self.function.decorators else self.function
        return self.source.positions[first].start.line


@dataclass
class BroughtIn:
    """The script with functions copied in, and where each of its lines came from."""

    text: str
    copies: list[_Copy]
    #: per line of ``text``: (the copy it belongs to or None, the line in the script or module)
    origins: list[tuple[_Copy | None, int]] = field(default_factory=list)

    def restore(self, result: ConversionResult, source: str) -> ConversionResult:
        """The conversion of ``text`` as the script's: its source, and the report's lines."""
        report = Report(filename=result.report.filename)
        for kind in ("found", "changed", "declined"):
            getattr(report, kind).extend(self._entry(e) for e in getattr(result.report, kind))
        changed = result.code != self.text
        if changed:
            report.changed[:0] = [
                Entry(
                    "copied-in",
                    c.at,
                    f"{c.name}() of {c.source.module.display} (line {c.line}) is copied in here "
                    f"to be converted with the script; {c.source.module.display} stays as it is",
                )
                for c in self.copies
            ]
        return ConversionResult(source, result.code if changed else source, report)

    def _entry(self, entry: Entry) -> Entry:
        message = _LINE_IN_MESSAGE.sub(self._line_in_message, entry.message)
        if not 0 < entry.line <= len(self.origins):
            return Entry(entry.kind, entry.line, message)
        copy, line = self.origins[entry.line - 1]
        if copy is None:
            return Entry(entry.kind, line, message)
        where = f"{copy.source.module.display}:{line}, in the copied {copy.name}()"
        return Entry(entry.kind, copy.at, f"{message} ({where})")

    def _line_in_message(self, found: re.Match) -> str:
        """A line of ``text`` a message names, as the script's line or the module's."""
        number = int(found.group(1))
        if not 0 < number <= len(self.origins):
            return found.group(0)
        copy, line = self.origins[number - 1]
        return f"line {line}" if copy is None else f"{copy.source.module.display}:{line}"


def bring_in(source: str, modules: Modules) -> BroughtIn | None:
    """The script with the training functions it imports copied in; None when there are none.

    Raises ``Declined`` when a function that trains cannot be copied faithfully."""
    if _BACKWARD_CALL.search(source):
        return None  # a loop of its own (or its mention: no parse spent on it either way)
    wrapper = _parsed(source)
    if wrapper is None:
        return None  # the conversion itself says why
    script = _Source(Module("__main__", "", source, False), wrapper)
    if any(m.matches(c, BACKWARD_CALL) for c in script.index.nodes(cst.Call)):
        return None
    plan = _Plan(script, _Cache(modules))
    plan.collect()
    if not plan.copies:
        return None
    return plan.merged()


def _parsed(source: str) -> MetadataWrapper | None:
    """The guarded parse (size, nesting: LibCST's parser must never see what could crash it)."""
    try:
        return MetadataWrapper(parse_module(source), unsafe_skip_copy=True)
    except (cst.ParserSyntaxError, SourceRejected, RecursionError):
        return None


class _Cache:
    def __init__(self, modules: Modules) -> None:
        self._modules = modules
        self._parsed: dict[str, _Source | None] = {}

    def get(self, dotted: str) -> _Source | None:
        if dotted not in self._parsed:
            found = self._modules(dotted)
            parsed = None
            module = Module(dotted, *found) if found is not None else None
            # Only a module that might train, or a package's `__init__` (re-exports), is parsed.
            if module is not None and (module.package or "backward" in module.text):
                wrapper = _parsed(module.text)  # None: nothing to copy from it
                parsed = _Source(module, wrapper) if wrapper is not None else None
            self._parsed[dotted] = parsed
        return self._parsed[dotted]


class _Plan:
    """What to copy and what changes in the script, read from the script's module-level imports."""

    def __init__(self, script: _Source, cache: _Cache) -> None:
        self.script = script
        self.cache = cache
        self.copies: list[_Copy] = []
        self.dropped: dict[cst.ImportFrom, set[str]] = {}  # aliases removed from an import
        self.renamed: list[cst.Attribute] = []  # `engine.train_one_epoch` -> `train_one_epoch`
        self.imports: list[str] = []  # import lines the copies need
        #: imported functions the script calls: (name, (module, def), import, attribute read)
        self._candidates: list = []

    def collect(self) -> None:
        index = self.script.index
        scope = index.body_scope(None)
        for name, bindings in scope.assignments_by_name().items():
            statement = _import_statement(index, bindings)
            if statement is None:
                continue
            qualified = bindings[0].qualified
            if self.cache.get(qualified) is not None:
                self._module_attributes(name, qualified, statement)
            elif "." in qualified and isinstance(statement, cst.ImportFrom):
                parent, _, attribute = qualified.rpartition(".")
                found = self._function(parent, attribute) if attribute == name else None
                if found is not None and self._called(name):
                    self._candidates.append((name, found, statement, None))
        if not any(_trains_through(*found) for _, found, _, _ in self._candidates):
            return
        for name, found, statement, attribute in self._candidates:
            if not (_trains_through(*found) or _loops_over_a_parameter(found[1])):
                continue
            self._copy(name, found, statement)
            self._copy_callees(found, statement)
            if attribute is None:
                self.dropped.setdefault(statement, set()).add(name)
            else:
                self.renamed.append(attribute)
        self._needed_imports()

    def _copy_callees(self, found: tuple[_Source, cst.FunctionDef], statement) -> None:
        """The functions of its own module that a copy calls and that train or evaluate
        (`train()` calling `train_step()` and `test_step()` each epoch): copied along with it,
        so that the loops are in the script (the conversion finds them through the calls)."""
        for callee, function in _callees(*found):
            if not (_trains_through(found[0], function) or _loops_over_a_parameter(function)):
                continue
            if self._copied(callee):
                continue
            if self.script.index.body_scope(None).assignments[callee]:
                raise Declined(
                    self.script.index.line(statement),
                    f"{callee}() of {found[0].module.display} trains, but this script binds "
                    f"`{callee}` too: it cannot be copied in under its name",
                )
            self._copy(callee, (found[0], function), statement)
            self._copy_callees((found[0], function), statement)

    def _module_attributes(self, name: str, dotted: str, statement) -> None:
        """`import engine` ... `engine.train_one_epoch(...)`: the attribute becomes the copy."""
        index = self.script.index
        for access in module_reads(index, name):
            parent = index.parent(access.node)
            if not (isinstance(parent, cst.Attribute) and parent.value is access.node):
                continue
            attribute = parent.attr.value
            found = self._function(dotted, attribute)
            if found is None:
                continue
            position = self.script.positions[parent]
            if position.start.line != position.end.line:
                continue  # spread over lines: left as it is (the conversion says what it sees)
            if access.scope.lookup(attribute) is not None:
                if _trains(found[1]):
                    raise Declined(
                        index.line(parent),
                        f"{name}.{attribute}() trains, but this script binds `{attribute}` "
                        "too: it cannot be copied in under its name",
                    )
                continue
            self._candidates.append((attribute, found, statement, parent))

    def _function(self, dotted: str, name: str, depth: int = 0):
        """The module-level def `name` of module `dotted` (through re-exports), or None."""
        source = self.cache.get(dotted)
        if source is None or depth > _DEPTH:
            return None
        bindings = source.index.body_scope(None).assignments[name]
        if len(bindings) != 1:
            return None
        node = bindings[0].node
        if isinstance(node, cst.FunctionDef) and node in source.index.module.body:
            return source, node
        if isinstance(node, cst.ImportFrom) and "." in (bindings[0].qualified or ""):
            parent, _, attribute = _absolute(source.module, bindings[0].qualified).rpartition(".")
            return self._function(parent, attribute, depth + 1) if parent else None
        return None

    def _called(self, name: str) -> bool:
        return bool(module_reads(self.script.index, name))

    def _copied(self, name: str) -> bool:
        return any(c.name == name for c in self.copies)

    def _copy(self, name: str, found: tuple[_Source, cst.FunctionDef], statement) -> None:
        source, function = found
        for copy in self.copies:
            if copy.name == name:
                if copy.function is not function:
                    raise Declined(
                        self.script.index.line(statement),
                        f"two different {name}() functions are imported: only one can be "
                        "copied in under that name",
                    )
                return
        self.copies.append(_Copy(name, source, function, self.script.index.line(statement)))

    def _needed_imports(self) -> None:
        """What each copy reads from its module's scope, bound the same way in the script. A name
        the script binds to something else is imported under a fresh name, and the copy reads
        that name instead."""
        script_scope = self.script.index.body_scope(None)
        copied = {c.name for c in self.copies}
        lines: dict[str, None] = {}
        for copy in self.copies:
            for name, reads in _module_reads(copy).items():
                if name in copied:
                    continue
                bound = [
                    b
                    for b in script_scope.assignments[name]
                    if not self._being_dropped(b.node, name)
                ]
                wanted = _binding_in(copy.source, name, name)
                if bound and all(b.qualified == wanted[1] for b in bound):
                    continue
                if bound:
                    alias = self._fresh(name)
                    wanted = _binding_in(copy.source, name, alias)
                    copy.renamed.update({node: alias for node in reads})
                lines[wanted[0]] = None
        self.imports = list(lines)

    def _fresh(self, name: str) -> str:
        used = {n.value for c in self.copies for n in find(c.function, cst.Name)}
        number = 2
        while True:
            alias = self.script.index.fresh_name(f"{name}_{number}")
            if alias not in used:
                return alias
            number += 1

    def _being_dropped(self, node: cst.CSTNode, name: str) -> bool:
        return name in self.dropped.get(node, set())  # type: ignore[arg-type]

    def merged(self) -> BroughtIn:
        """The script's lines, the dropped imports rewritten, the module attributes renamed, and
        the copies (with the imports they need) after the run of imports that brought them in,
        in the script's own line endings."""
        index, positions = self.script.index, self.script.positions
        newline = index.module.default_newline
        lines = self.script.module.text.splitlines(keepends=True)
        for attribute in self.renamed:  # one line each, never two on a line
            start, end = positions[attribute].start, positions[attribute].end
            text = lines[start.line - 1]
            lines[start.line - 1] = text[: start.column] + attribute.attr.value + text[end.column :]
        replaced: dict[int, tuple[int, str]] = {}
        for statement, names in self.dropped.items():
            span = positions[index.parent(statement)]
            kept = [a for a in statement.names if _bound_name(a) not in names]
            code = _import_from_code(statement, kept, newline) if kept else ""
            replaced[span.start.line] = (span.end.line, code)
        after = max(_end_of_import_run(self.script, c.at) for c in self.copies)
        out: list[str] = []
        where: list[tuple[_Copy | None, int]] = []
        number = 1
        while number <= len(lines):
            last, code = replaced.get(number, (number, lines[number - 1]))
            for text in code.splitlines(keepends=True):
                out.append(text)
                where.append((None, number))
            if number <= after <= last:
                if out and not out[-1].endswith(("\n", "\r")):
                    out[-1] += newline
                self._insert(out, where, number, newline)
            number = last + 1
        return BroughtIn("".join(out), self.copies, where)

    def _insert(self, out: list[str], where: list, at: int, newline: str) -> None:
        for text in self.imports:
            out.append(text + newline)
            where.append((None, at))
        for copy in self.copies:
            out.extend([newline, newline])
            where.extend([(None, at), (None, at)])
            last = copy.source.positions[copy.function].end.line
            body = copy.source.module.text.splitlines(keepends=True)
            positions = copy.source.positions
            for node in sorted(copy.renamed, key=lambda n: _at(positions[n]), reverse=True):
                start, end = positions[node].start, positions[node].end
                text = body[start.line - 1]
                body[start.line - 1] = (
                    text[: start.column] + copy.renamed[node] + text[end.column :]
                )
            for line in range(copy.line, last + 1):
                out.append(body[line - 1].rstrip("\r\n") + newline)
                where.append((copy, line))


def _trains(function: cst.FunctionDef) -> bool:
    return any(m.matches(c, BACKWARD_CALL) for c in find(function, cst.Call))


def _callees(source: _Source, function: cst.FunctionDef) -> list[tuple[str, cst.FunctionDef]]:
    """The module-level functions of ``source`` that ``function`` calls by name."""
    found = {}
    scope = source.index.body_scope(None)
    for call in find(function, cst.Call):
        if not isinstance(call.func, cst.Name) or call.func.value in found:
            continue
        bindings = scope.assignments[call.func.value]
        node = bindings[0].node if len(bindings) == 1 else None
        if isinstance(node, cst.FunctionDef) and node in source.index.module.body:
            if source.index.scope(call).lookup(call.func.value) is scope:
                found[call.func.value] = node
    return list(found.items())


def _trains_through(source: _Source, function: cst.FunctionDef, seen=None) -> bool:
    """It calls backward(), or calls a function of its module that does (at any depth)."""
    if _trains(function):
        return True
    seen = seen if seen is not None else {function}
    for _, callee in _callees(source, function):
        if callee not in seen:
            seen.add(callee)
            if _trains_through(source, callee, seen):
                return True
    return False


#: What an evaluation's loop wraps its loader in: `enumerate(loader)`, `tqdm(loader)`.
_LOOP_WRAPPERS = frozenset({"enumerate", "zip", "tqdm", "iter"})


def _loops_over_a_parameter(function: cst.FunctionDef) -> bool:
    """An evaluation's shape (`for x, y in loader:`, `enumerate(loader)`, `tqdm(loader)`): copied
    along with a training function, so that the conversion sees it as the script's own (a
    validation or test loop)."""
    params = {p.name.value for p in function.params.params}

    def over_a_parameter(node) -> bool:
        if isinstance(node, cst.Name):
            return node.value in params
        if not isinstance(node, cst.Call) or not node.args:
            return False
        func = node.func.attr if isinstance(node.func, cst.Attribute) else node.func
        wrapper = isinstance(func, cst.Name) and func.value in _LOOP_WRAPPERS
        return wrapper and over_a_parameter(node.args[0].value)

    return any(over_a_parameter(loop.iter) for loop in find(function, (cst.For, cst.CompFor)))


def _import_statement(index: SourceIndex, bindings) -> cst.Import | cst.ImportFrom | None:
    """The module-level import statement, alone on its line(s), that is a name's only binding."""
    if len(bindings) != 1 or not isinstance(bindings[0].node, (cst.Import, cst.ImportFrom)):
        return None
    qualified = bindings[0].qualified
    if not qualified or qualified.startswith("."):
        return None
    node = bindings[0].node
    line = index.parent(node)
    if not (isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1):
        return None
    return node if index.parent(line) is index.module else None


def _absolute(module: Module, qualified: str) -> str:
    """`.train_and_eval.f` in package `train_utils` -> `train_utils.train_and_eval.f`."""
    level = len(qualified) - len(qualified.lstrip("."))
    if not level:
        return qualified
    parts = module.dotted.split(".")
    if not module.package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    rest = qualified[level:]
    return ".".join([*parts, rest]) if parts else ""


def _module_reads(copy: _Copy) -> dict[str, list[cst.Name]]:
    """The names the copied function reads from its module's scope, each with the reads."""
    index = copy.source.index
    function = copy.function
    module = index.body_scope(None)
    found: dict[str, list[cst.Name]] = {}
    for scope in index.scopes():
        inside = scope.node is function or function in index.ancestors(scope.node)
        if inside and scope.globals:
            raise Declined(
                copy.at,
                f"{copy.name}() of {copy.source.module.display} declares a global: a copy "
                "would change the script's variables instead of its module's",
            )
        for access in scope.accesses:
            node = access.node
            if not (node is function or function in index.ancestors(node)):
                continue
            owner = scope.lookup(access.name)
            line = copy.source.positions[node].start.line if node in copy.source.positions else 0
            if owner is module:
                found.setdefault(access.name, []).append(node)
            elif (
                owner is None
                and not hasattr(builtins, access.name)
                and access.name not in _MODULE_OWN
                and _star_import(index)
            ):
                raise Declined(
                    copy.at,
                    f"{copy.name}() of {copy.source.module.display} (line {line}) reads "
                    f"`{access.name}`, which may come from its module's `import *`: it cannot be "
                    "copied in",
                )
            elif owner is None and (
                access.name in _MODULE_OWN or not hasattr(builtins, access.name)
            ):
                raise Declined(
                    copy.at,
                    f"{copy.name}() of {copy.source.module.display} (line {line}) reads "
                    f"`{access.name}`, which would mean something else in this script",
                )
    return found


def _star_import(index: SourceIndex) -> bool:
    return any(isinstance(n.names, cst.ImportStar) for n in index.nodes(cst.ImportFrom))


def _binding_in(source: _Source, name: str, alias: str) -> tuple[str, str]:
    """(the import line that binds `alias` in the script to what `name` is in its module, the
    qualified name the script's binding must have for the two to be the same)."""
    bindings = source.index.body_scope(None).assignments[name]
    qualified = {b.qualified for b in bindings}
    if len(qualified) == 1 and None not in qualified:
        (dotted,) = qualified
        if not dotted.startswith("."):
            return _import_line(alias, dotted), dotted
    line = f"from {source.module.dotted} import {name}"
    return line + ("" if alias == name else f" as {alias}"), f"{source.module.dotted}.{name}"


def _import_line(name: str, dotted: str) -> str:
    if "." not in dotted:
        return f"import {dotted}" if dotted == name else f"import {dotted} as {name}"
    parent, _, last = dotted.rpartition(".")
    return f"from {parent} import {last}" + ("" if last == name else f" as {name}")


def _bound_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return cst.Module([]).code_for_node(alias.name)


def _import_from_code(statement: cst.ImportFrom, kept: list, newline: str) -> str:
    last = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    line = cst.SimpleStatementLine([statement.with_changes(names=[*kept[:-1], last])])
    return cst.Module([line], default_newline=newline).code


def _end_of_import_run(script: _Source, line: int) -> int:
    """The last line of the run of module-level import statements holding `line`."""
    index, positions = script.index, script.positions
    end = line
    started = False
    for statement in index.module.body:
        span = positions[statement]
        is_import = isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body
        )
        if span.start.line <= line <= span.end.line:
            started = True
        if started:
            if not is_import:
                break
            end = span.end.line
    return end


def _at(span) -> tuple[int, int]:
    return span.start.line, span.start.column
