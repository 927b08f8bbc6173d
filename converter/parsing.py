"""The guarded parse: LibCST's tree of a script, or a clean error, never a crash or a hang.

LibCST's native parser overflows its stack on deep nesting (a segmentation fault: no message, the
whole run gone), takes time that grows much faster than the nesting (a 4,000-term ``a + a + ...``
runs for minutes), and needs 0.6-1.2 GB of memory per MB of source. So, before LibCST sees a file:

* it must fit the size budget (:data:`MAX_SOURCE_CHARS`);
* CPython's own parser must accept it. That is fast (a few percent of LibCST's time), stops at
  Python's nesting limits with a clean error, and gives a syntax error the line and column Python
  itself reports (LibCST's position can be lines away);
* it must fit the nesting budget (:data:`MAX_DEPTH`), measured on CPython's tree.

LibCST then parses in a thread with a large stack (what fits the budgets never comes near it; it is
there for shapes the budgets do not foresee), and its tree must print back the exact text: a
source it would change (a form feed that begins a line of code) is refused, not silently altered.
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import io
import os
import queue
import re
import threading
import tokenize
import warnings

import libcst as cst

from converter.analysis.lines import remember_tree
from converter.signals import signals_deferred

#: The size budget: larger files are not converted (LibCST's parse and the analysis cost about
#: 30-70 s and 0.6-1.2 GB of memory per MB; real training scripts are a few to tens of KiB).
MAX_SOURCE_CHARS = 256 * 1024
#: The nesting budget, in levels of CPython's syntax tree (each extra operand of ``and``/``or``
#: and each dot of an imported name counts as a level, as LibCST nests them). Real code rarely
#: passes 30; CPython itself stops near 200 brackets and ~3,000 levels; the converter's own
#: recursion ends near 320.
MAX_DEPTH = 100
#: The node budget, in nodes of CPython's syntax tree (contexts not counted). LibCST's tree and
#: the analysis cost about 3-8 KB of memory per node, whatever the file's size in bytes: 256 KiB
#: of one-name statements is 260,000 nodes (2 GB, minutes). Real code has about 60-110 nodes
#: per KiB (the standard library's largest modules), so 256 KiB of it stays far below the limit.
MAX_NODES = 40_000
#: The stack of the thread LibCST parses in: address space only, touched as deep as the parse goes.
_PARSE_STACK_BYTES = 256 * 1024 * 1024

#: Where LibCST is known not to print a source back exactly: a form feed that begins a line of
#: code is dropped; lone "\r" line endings (handled above). Only such sources pay for the check.
_ROUND_TRIP_RISK = re.compile(r"\x0c|\r(?!\n)")

_stack_size_lock = threading.Lock()


class SourceRejected(ValueError):
    """The source is valid or not, but the converter does not take it on: over a budget, or too
    deep for Python's parser, or LibCST cannot give its text back exactly. ``message`` is one line
    (``too large to convert: ...``); ``line`` and ``column`` (1-based) are 0 when unknown."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def parse_module(source: str) -> cst.Module:
    """LibCST's module for ``source``, whose ``code`` is ``source`` exactly.

    Raises ``libcst.ParserSyntaxError`` for a syntax error (at Python's line and column when
    Python rejects the source) and :class:`SourceRejected` for what is over the budgets.
    """
    if len(source) > MAX_SOURCE_CHARS:
        raise SourceRejected(
            f"too large to convert: {_size(len(source))} "
            f"(the limit is {_size(MAX_SOURCE_CHARS)} per file)"
        )
    tree = _python_parse(source)
    _check_depth(tree, source)
    remember_tree(source, tree)  # the report's line numbers come from it
    module = _libcst_parse(source)
    if not module.has_trailing_newline and source.endswith(("\n", "\r")):
        # LibCST misses a final line ending that is a lone "\r" (old Mac line endings).
        module = module.with_changes(has_trailing_newline=True)
    if _ROUND_TRIP_RISK.search(source) and module.code != source:
        raise SourceRejected(
            "cannot convert: LibCST does not give this file's text back exactly "
            f"(first difference on line {_first_difference(source, module.code)}); "
            "please report"
        )
    return module


def _size(chars: int) -> str:
    if chars >= 1024 * 1024:
        return f"{chars / (1024 * 1024):.1f} MiB"
    return f"{chars / 1024:.0f} KiB"


def _python_parse(source: str) -> ast.Module:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning, DeprecationWarning: not ours to say
            return compile(source, "<source>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as err:  # IndentationError, TabError, "too many nested parentheses"...
        raise _syntax_error(source, err.msg, err.lineno or 1, err.offset or 1) from None
    except ValueError:  # "source code string cannot contain null bytes" (SyntaxError from 3.12)
        before = source[: source.index("\0")]
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        raise _syntax_error(source, "a NUL character", line, column) from None
    except RecursionError as err:
        raise SourceRejected(
            f"cannot parse: nested too deeply for Python's parser ({err})"
        ) from None
    except MemoryError:  # what CPython's parser raises when its own stack is full
        raise SourceRejected(
            "cannot parse: nested too deeply for Python's parser (its stack is full)"
        ) from None


def _syntax_error(source: str, message: str, line: int, column: int) -> cst.ParserSyntaxError:
    lines = source.splitlines(keepends=True) or [""]
    line = min(max(line, 1), len(lines))
    column = min(max(column, 1), len(lines[line - 1]) + 1)
    return cst.ParserSyntaxError(message, lines=lines, raw_line=line, raw_column=column - 1)


def _check_depth(tree: ast.AST, source: str) -> None:
    """Raise :class:`SourceRejected` at the first place nested deeper than :data:`MAX_DEPTH`,
    or when the tree has more than :data:`MAX_NODES` nodes."""
    stack = [(tree, 1, 1, 0)]  # node, depth, line and column of the nearest positioned node
    nodes = 0
    lines = None
    while stack:
        node, depth, line, column = stack.pop()
        if isinstance(node, ast.expr_context):
            continue
        nodes += 1
        if nodes > MAX_NODES:
            raise SourceRejected(
                f"too large to convert: more than {MAX_NODES:,} syntax-tree nodes "
                "(torch2lightning's limit per file; 256 KiB of typical code has about 25,000)"
            )
        if hasattr(node, "lineno"):
            line, column = node.lineno, node.col_offset
        if isinstance(node, ast.alias):  # ``import a.b.c``: one name here, nested in LibCST
            depth += node.name.count(".")
        elif isinstance(node, ast.ImportFrom):
            depth += (node.module or "").count(".")
        pieces = 1
        if isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))
        ):
            if lines is None:
                lines = _LINE.findall(source)
            pieces = _adjacent_literals(lines, node)  # LibCST nests ``"a" "b" "c"`` pairwise
        if depth + pieces - 1 > MAX_DEPTH:
            what = f"{pieces} adjacent string literals, which LibCST nests one in another: " * (
                pieces > 1
            )
            raise SourceRejected(
                f"too deeply nested to convert: {what}more than {MAX_DEPTH} levels "
                "(torch2lightning's limit per file)",
                line,
                _characters(source, line, column) + 1,
            )
        step = len(node.values) if isinstance(node, ast.BoolOp) else 1
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + step, line, column))


def _adjacent_literals(lines: list[str], node: ast.expr) -> int:
    """How many string literals make up ``node`` (``"a" "b"`` is one constant for Python, two
    literals for LibCST). Only a string spanning more text than one literal can be several."""
    if node.end_lineno is None or node.end_col_offset is None:
        return 1
    first, last = node.lineno - 1, node.end_lineno - 1
    if first == last:
        text = _utf8(lines[first])[node.col_offset : node.end_col_offset]
    else:
        text = _utf8(lines[first])[node.col_offset :]
        text += _utf8("".join(lines[first + 1 : last])) + _utf8(lines[last])[: node.end_col_offset]
    if text.count(b'"') + text.count(b"'") <= 6:  # one literal, even triple-quoted
        return 1
    count = 0
    with contextlib.suppress(tokenize.TokenError, SyntaxError):
        for token in tokenize.tokenize(io.BytesIO(b"(" + text + b")").readline):
            count += token.type in (tokenize.STRING, _FSTRING_START)
    return max(count, 1)


def _utf8(text: str) -> bytes:  # as CPython's tree counts columns
    return text.encode("utf-8", "surrogatepass")


_FSTRING_START = getattr(tokenize, "FSTRING_START", -1)  # Python 3.12's f-string tokens
#: A line with its ending, as Python's tokenizer counts lines.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _characters(source: str, line: int, offset: int) -> int:
    """A column as Python's tree gives it (UTF-8 bytes) in characters, as messages count."""
    lines = re.split(r"\r\n|\r|\n", source)  # Python's line endings
    text = lines[line - 1] if line <= len(lines) else ""
    return len(text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "replace"))


def _libcst_parse(source: str) -> cst.Module:
    return _PARSER.parse(source)


class _ParseThread:
    """One long-lived thread, with a large stack, that runs LibCST's parser for every caller.

    Long-lived, because a fresh thread per file costs a quarter of the parse itself (a new stack
    and allocator arenas to fault in). Forked children (the ``-j`` pool) start their own. Ctrl-C
    interrupts the caller at once; the parse it leaves finishes in the background (its result is
    dropped), and the interpreter waits for it before exiting: native code still running in a
    daemon thread when the interpreter is torn down aborts the process.
    """

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)
        atexit.register(self._wait_idle)

    def _reset(self) -> None:
        self._pid: int | None = None
        self._lock = threading.Lock()  # one caller at a time
        self._jobs: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
        self._results: queue.SimpleQueue[tuple[int, bool, object]] = queue.SimpleQueue()
        self._idle = threading.Event()
        self._idle.set()
        self._serial = 0

    def parse(self, source: str) -> cst.Module:
        with self._lock:
            if self._pid != os.getpid() and not self._start():
                return cst.parse_module(source)  # no thread with such a stack here
            self._serial += 1
            serial = self._serial
            self._jobs.put((serial, source))
            while True:
                done, ok, value = self._results.get()
                if done == serial:  # older results belong to interrupted callers
                    break
        if not ok:
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    def _start(self) -> bool:
        # The thread inherits the blocked signals and keeps them blocked for good, so the kernel
        # delivers them to the thread that handles or defers them (a SIGTERM taken by the parse
        # thread would kill the process in the middle of a write the main thread holds them for).
        with _stack_size_lock, signals_deferred():
            previous = threading.stack_size()
            try:
                threading.stack_size(_PARSE_STACK_BYTES)
                thread = threading.Thread(target=self._serve, name="torch2lightning-parse")
                thread.daemon = True
                thread.start()
            except (RuntimeError, ValueError):
                return False
            finally:
                threading.stack_size(previous)
        self._pid = os.getpid()
        return True

    def _serve(self) -> None:
        jobs, results, idle = self._jobs, self._results, self._idle
        while True:
            serial, source = jobs.get()
            idle.clear()
            try:
                results.put((serial, True, cst.parse_module(source)))
            except BaseException as err:  # handed to the caller's thread
                results.put((serial, False, err))
            finally:
                idle.set()

    def _wait_idle(self) -> None:
        while not (self._idle.is_set() and self._jobs.empty()):
            try:
                self._idle.wait(0.01)
            except KeyboardInterrupt:  # bounded by the budgets: a few seconds at most
                continue


_PARSER = _ParseThread()


def _first_difference(a: str, b: str) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return a.count("\n", 0, i) + 1
    return a.count("\n", 0, min(len(a), len(b))) + 1
