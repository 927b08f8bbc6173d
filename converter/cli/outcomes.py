"""What running the command line on one file gives (`Outcome`), the options it runs with, and
how an outcome is delivered (written, diffed, or left). The file runner and the notebook runner
both build outcomes here, so neither needs the other's internals."""

from __future__ import annotations

import os
from dataclasses import dataclass

from converter import files
from converter.cli import writing
from converter.signals import signals_deferred

CONVERTED = "converted"


UNCHANGED = "unchanged"


ERROR = "error"


NO_TRAINING = "no training loop (a loop needs both a backward() and a .step() call)"


#: A RecursionError in the analysis: what the nesting budget (``converter.parsing``) missed.
TOO_DEEP = (
    "cannot convert: nested too deeply for the converter's analysis (Python's recursion "
    "limit); file left untouched, please report it"
)


@dataclass(frozen=True)
class Options:
    target: str = "pytorch_lightning"
    #: "inplace": rewrite the file; "output": write to Source.dest; "stdout": hand the bytes back
    #: (for standard input); "none": write nothing (--check, --diff).
    write: str = "inplace"
    diff: bool = False
    #: Where the Trainer conversion declines, convert to this instead ("fabric"), or None.
    fallback: str | None = None
    #: The Lightning distribution the output imports from (None: the one the target names).
    package: str | None = None
    #: The Trainer conversion's data code as a LightningDataModule (`--datamodule`).
    datamodule: bool = False
    #: A patience counter as Lightning's EarlyStopping (`--callbacks`).
    callbacks: bool = False


@dataclass
class Outcome:
    display: str
    status: str
    #: Why a file is unchanged, or the error line (``path:line:col: cannot parse: ...``).
    message: str = ""
    #: True when the pre-filter skipped the file before any parse.
    skipped: bool = False
    report: dict | None = None
    diff: str = ""
    output: str | None = None
    #: The resulting bytes, only for standard input written to standard output.
    data: bytes | None = None
    traceback: str = ""
    declined: int = 0
    changes: int = 0
    encoding: str | None = None
    #: What writing the output replaced, for the file's line (``-o`` onto an existing path).
    replaced: str = ""


def error(display: str, message: str, **kw) -> Outcome:
    return Outcome(display, ERROR, message=f"{display}: {message}", **kw)


def caused_by(err: BaseException, kind: type) -> bool:
    """Whether ``err`` is ``kind`` or was raised while handling one (LibCST's metadata turns a
    RecursionError deep in a tree into other errors)."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, kind):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


def deliver(
    source: files.Source,
    options: Options,
    outcome: Outcome,
    old: bytes,
    new: bytes,
    read_stat: os.stat_result | None = None,
) -> Outcome:
    """Write (or hand back) the result as the options say. A file rewritten in place must still
    be the file that was read (``read_stat``, ``old``): see ``writing.replace_if_unchanged``."""
    try:
        if options.write == "inplace" and source.path is not None:
            if new != old:
                assert read_stat is not None
                links = read_stat.st_nlink
                if links > 1:
                    outcome.message = (
                        f"it had {links} hard links: this name is a new file now, "
                        "the other names keep the original"
                    )
                with signals_deferred():
                    writing.replace_if_unchanged(source.path, new, old, read_stat)
                    written.append(outcome)
        elif options.write == "output" and source.dest is not None:
            dest = source.dest
            dest.parent.mkdir(parents=True, exist_ok=True)
            mode = writing.output_mode(read_stat.st_mode if read_stat is not None else None)
            outcome.output = str(dest)
            with signals_deferred():
                outcome.replaced = writing.write_output(dest, new, mode)
                written.append(outcome)
        elif options.write == "stdout":
            outcome.data = new
    except writing.NotWritten as err:
        return Outcome(outcome.display, ERROR, message=f"{outcome.display}: {err}")
    except OSError as err:
        target = source.dest if options.write == "output" else source.path
        return Outcome(
            outcome.display,
            ERROR,
            message=f"{outcome.display}: cannot write {target}: {err.strerror or err}",
        )
    return outcome


def unchanged_reason(reason: str, lightning: str | None, no_training: bool) -> str:
    """Why a file stays as it is, for a file that uses Lightning already (``lightning``: where it
    imports it): a converted file, converted again, is said to be one."""
    if lightning is None:
        return reason
    if no_training:
        return f"it uses Lightning already ({lightning}): nothing to convert"
    return f"{reason} (it uses Lightning already: {lightning})"


def no_loop(report: dict) -> bool:
    """A report (as `Report.to_dict()` gives it) that found no training loop at all."""
    return all(
        e["kind"] == "file" and "no training loop" in e["message"] for e in report["declined"]
    )


#: Outcomes whose file this process has written, in order. A write and its entry here happen
#: with signals deferred, so after a Ctrl-C the command line can name every file written even when
#: the interrupt came before ``process`` returned.
written: list[Outcome] = []
