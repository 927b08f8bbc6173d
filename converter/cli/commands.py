"""The torch2lightning command line. Starts without importing torch (verify runs it in children).

Start-up matters (``--version``, pre-commit runs on every commit): the file layer, diffs, the
process pool and LibCST are imported inside the ``convert`` command, not here.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from pathlib import Path

import click

from converter import FALLBACKS, PACKAGES, TARGETS, __version__, lightning_package

EXIT_OK = 0
EXIT_WOULD_CHANGE = 1
EXIT_FAILED = 123
EXIT_INTERRUPTED = 130  # Ctrl-C; SIGTERM gives 143, SIGHUP 129 (128 + the signal's number)

CONVERT_EPILOG = """\b
Exit codes:
  0    done; with --check: no file would change (--diff alone: 0 whether or not it
       shows a diff)
  1    --check: some file would change
       (also without --check when --exit-nonzero-on-change is given and some file changed)
  2    usage error (unknown option, an --output or --report that overlaps an input, a
       --report folder that does not exist...); nothing was read or written
  123  some file could not be processed (syntax error, unreadable, read-only, changed on
       disk while it was converted, not a regular file, not Python, cannot decode, over a
       budget); such files are left untouched and the other files are still processed
  130  interrupted (Ctrl-C); 143: terminated (SIGTERM); 129: hung up (SIGHUP). Each file is
       either untouched or fully converted, and the files written are named

\b
Examples:
  torch2lightning convert train.py             rewrite train.py in place
  torch2lightning convert --diff src/          show what would change, write nothing
  torch2lightning convert --check --diff .     CI: exit 1 if anything would change
  torch2lightning convert src/ -o converted/   write a converted copy of the tree
  cat train.py | torch2lightning convert -     standard input to standard output
"""


def checked_package(target: str, package: str | None) -> str:
    """``--lightning-package`` for ``--target``: a usage error where they disagree."""
    try:
        return lightning_package(target, package)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--lightning-package") from None


class _Commands(click.Group):
    """`verify` is imported only when it runs or help lists it: `convert` never loads it."""

    _LAZY = {"verify": "converter.verify.command"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self._LAZY])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self._LAZY:
            return getattr(importlib.import_module(self._LAZY[name]), name)
        return super().get_command(ctx, name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="torch2lightning")
def main() -> None:
    """Rewrite plain PyTorch training scripts into PyTorch Lightning."""


@main.command(epilog=CONVERT_EPILOG)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--diff",
    is_flag=True,
    help="Print a unified diff of each change; write nothing (exit 0; with --check, 1 when "
    "there is a diff).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if any file would change, 0 otherwise. Combines with --diff.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write here instead of in place: a file for a single input file, or a folder that "
    "mirrors the input tree (unchanged and non-Python files are copied too).",
)
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default=TARGETS[0],
    show_default=True,
    help="Which package the converted code imports; fabric: Lightning Fabric runs the script's "
    "own loop (see docs/fabric.md).",
)
@click.option(
    "--fallback",
    type=click.Choice(FALLBACKS),
    help="Where the Trainer conversion declines a file, convert it to this instead (the report "
    "says so, with the Trainer's reason).",
)
@click.option(
    "--lightning-package",
    "package",
    type=click.Choice(PACKAGES),
    help="The one Lightning distribution the output imports from, Trainer and Fabric alike "
    "[default: the target's; for fabric, pytorch_lightning's lightning_fabric].",
)
@click.option(
    "--datamodule",
    is_flag=True,
    help="Also move the code that builds the loaders into a LightningDataModule (settings as "
    "its constructor arguments), where that trains the same; the report says why not elsewhere.",
)
@click.option(
    "--callbacks",
    is_flag=True,
    help="Also turn a patience counter into Lightning's EarlyStopping callback, where it stops "
    "at the same epoch; the report says why not elsewhere.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a readable report: per file, each change and each declined construct with its "
    "line and reason.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the report as JSON on stdout. Files are still rewritten in place unless "
    "--check, --diff or --output is given.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    metavar="N",
    default=1,
    show_default=True,
    help="Convert files in N processes (0: one per CPU).",
)
@click.option(
    "--color/--no-color", default=None, help="Color the diff (default: when stdout is a terminal)."
)
@click.option(
    "--exit-nonzero-on-change",
    is_flag=True,
    help="Exit 1 when a file was changed (the pre-commit convention).",
)
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="GLOB",
    help="Also skip folders and files whose name matches GLOB while walking folders "
    "(repeatable); a file named on the command line is always taken.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
@click.option(
    "-v", "--verbose", is_flag=True, help="Also print each change and declined construct."
)
def convert(
    paths: tuple[str, ...],
    diff: bool,
    check: bool,
    output: Path | None,
    target: str,
    fallback: str | None,
    package: str | None,
    datamodule: bool,
    callbacks: bool,
    report_path: Path | None,
    as_json: bool,
    jobs: int,
    color: bool | None,
    exit_nonzero_on_change: bool,
    excludes: tuple[str, ...],
    quiet: bool,
    verbose: bool,
) -> None:
    """Convert PATH... (files, folders searched for .py files, or - for stdin to stdout).

    By default each file is rewritten in place, and each file's fate is said on stderr.
    """
    from converter import files
    from converter.cli import file_runner, scheduling, writing

    if quiet and verbose:
        raise click.UsageError("-q and -v contradict each other")
    package = checked_package(target, package)
    try:
        found = files.discover(paths, output, excludes)
    except files.UsageProblem as err:
        raise click.UsageError(str(err)) from None
    writes = not (check or diff)
    has_stdin = any(s.path is None for s in found.sources)
    if has_stdin and as_json and writes and output is None:
        raise click.UsageError("'-' writes the code to stdout: it cannot be combined with --json")
    if report_path is not None:
        problem = files.report_overlap(report_path, found)
        if problem:
            raise click.UsageError(problem)

    write_mode = "none" if not writes else ("output" if output is not None else "inplace")
    file_options = file_runner.Options(
        target=target,
        write=write_mode,
        diff=diff,
        fallback=fallback,
        package=package,
        datamodule=datamodule,
        callbacks=callbacks,
    )
    stdin_options = file_runner.Options(
        target=target,
        write="stdout" if write_mode == "inplace" else write_mode,
        diff=diff,
        fallback=fallback,
        package=package,
        datamodule=datamodule,
        callbacks=callbacks,
    )
    use_color = _use_color(color)
    run = _Run(writes=writes, quiet=quiet, verbose=verbose)

    for _where, message in found.problems:
        run.add(file_runner.Outcome(_where, file_runner.ERROR, message=message))
    for warning in found.warnings:
        if not quiet:
            click.echo(f"warning: {warning}", err=True)
    if verbose:
        for note in found.notes:
            click.echo(note, err=True)

    def accept(outcome) -> None:
        if not run.add(outcome):
            return
        if outcome.diff and not as_json:
            from converter.cli.diffing import colorize, encode_diff

            text = colorize(outcome.diff) if use_color else outcome.diff
            _write_stdout(encode_diff(text, outcome.encoding or "utf-8"))
        if outcome.data is not None:
            _write_stdout(outcome.data)

    stopped = None
    signals = scheduling.install_stop_signals()
    try:
        scheduling.run_all(found.sources, file_options, stdin_options, jobs, accept, signals)
        if writes and output is not None:
            for src, dest in found.others:
                _copy(src, dest, run)
        signals.finish()
    except KeyboardInterrupt:
        signals.finish()
        stopped = signals.received or signal.SIGINT
        run.print_pending()

    if not found.sources and not found.problems and stopped is None:
        if not quiet:
            click.echo("No Python files to convert.", err=True)
    if stopped is not None:
        if writes:
            said = "the files named above as converted were written; the others are untouched"
        else:
            said = "nothing was written"
        click.echo(f"interrupted: {said}", err=True)
        code = 128 + stopped  # EXIT_INTERRUPTED for Ctrl-C
    elif run.errors:
        code = EXIT_FAILED
    elif run.converted and (check or exit_nonzero_on_change):
        code = EXIT_WOULD_CHANGE
    else:
        code = EXIT_OK

    if stopped is not None:
        # (copy errors come after every source: max() covers an interrupt among the copies)
        reached = len(run.outcomes)
        run.not_processed = max(0, len(found.sources) + len(found.problems) - reached)
    if not quiet and (found.sources or found.problems):
        click.echo(run.summary(), err=True)
    if report_path is not None:
        data = run.text_report(target).encode("utf-8", "surrogateescape")
        try:
            writing.write_report(report_path, data)
        except OSError as err:
            click.echo(f"cannot write the report {report_path}: {err.strerror or err}", err=True)
            code = EXIT_FAILED if code in (EXIT_OK, EXIT_WOULD_CHANGE) else code
    if as_json:
        import json

        doc = run.json_report(target, diff, code)
        _write_stdout((json.dumps(doc, indent=2) + "\n").encode("utf-8"))
    if stopped is not None:
        # Python 3.11 remembers a Ctrl-C that hit code run by exec() (dataclasses, during an
        # import) and would end the process by SIGINT instead of this exit status.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _copy(src: Path, dest: Path, run) -> None:
    """Copy a non-Python file of a mirrored tree (regular files only)."""
    from converter import files
    from converter.cli import file_runner, writing

    try:
        writing.copy_file(src, dest)
    except OSError as err:
        message = f"{src}: cannot copy to {dest}: {err.strerror or err}"
    except (files.ReadProblem, writing.NotWritten) as err:
        message = f"{src}: {err}"
    else:
        return
    run.add(file_runner.Outcome(str(src), file_runner.ERROR, message=message))


def _use_color(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _write_stdout(data: bytes) -> None:
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # The reader went away (``| head``): stop writing, quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_OK)


class _Run:
    """Collects outcomes, prints each file's line, and renders the summary and the reports."""

    def __init__(self, writes: bool, quiet: bool, verbose: bool) -> None:
        self.writes = writes
        self.quiet = quiet
        self.verbose = verbose
        self.outcomes: list = []
        self._ids: set[int] = set()
        self._printed: set[int] = set()
        #: Set when the run was interrupted: how many files it never reached.
        self.not_processed: int | None = None

    def _count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def converted(self) -> int:
        return self._count("converted")

    @property
    def unchanged(self) -> int:
        return self._count("unchanged")

    @property
    def errors(self) -> int:
        return self._count("error")

    def add(self, outcome) -> bool:
        """Record an outcome (False when it was recorded already), then print its line."""
        if id(outcome) in self._ids:
            return False
        self._ids.add(id(outcome))
        self.outcomes.append(outcome)  # recorded first: an interrupt while printing keeps it
        self._print(outcome)
        return True

    def print_pending(self) -> None:
        """Print the lines an interrupt cut short, so that every recorded file is named."""
        for outcome in self.outcomes:
            if id(outcome) not in self._printed:
                self._print(outcome)

    def _print(self, outcome) -> None:
        from converter.cli import file_runner

        if outcome.status == file_runner.ERROR:
            click.echo(outcome.message, err=True)
            if self.verbose and outcome.traceback:
                click.echo(outcome.traceback.rstrip(), err=True)
            self._printed.add(id(outcome))
            return
        if outcome.status == file_runner.CONVERTED:
            verb = "converted" if self.writes else "would convert"
            line = f"{verb} {outcome.display}"
            if outcome.output:
                line += f" -> {outcome.output}"
            if outcome.declined:
                line += f" ({outcome.declined} construct(s) declined; see -v or --report)"
            if any(e["kind"] == "fallback" for e in (outcome.report or {}).get("changed", ())):
                line += " (to Lightning Fabric: the Trainer conversion declined; see -v)"
            if outcome.message:
                line += f" ({outcome.message})"
        else:
            line = f"unchanged {outcome.display}: {outcome.message}"
            if outcome.output:
                line += f" (copied to {outcome.output})"
        if outcome.replaced:
            line += f" ({outcome.replaced})"
        if not self.quiet:
            click.echo(line, err=True)
        if self.verbose and outcome.report:
            from converter.report import ASKED_FOR, place

            report = outcome.report
            asked = [e for e in report["found"] if e["kind"] in ASKED_FOR]
            for title, entries in (
                ("changed", report["changed"]),
                ("kept", asked),
                ("declined", report["declined"]),
            ):
                for entry in entries:
                    click.echo(
                        f"  {place(outcome.display, entry)}: {title} {entry['kind']}: "
                        f"{entry['message']}",
                        err=True,
                    )
        self._printed.add(id(outcome))

    def summary(self) -> str:

        def count(n: int, what: str) -> str:
            return f"{n} file{'' if n == 1 else 's'} {what}"

        parts = [count(self.converted, "converted" if self.writes else "would be converted")]
        parts.append(f"{self.unchanged} unchanged")
        if self.errors:
            parts.append(f"{self.errors} could not be processed")
        if self.not_processed is not None:
            parts.append(f"{self.not_processed} not processed (untouched)")
            return "Interrupted: " + ", ".join(parts) + "."
        return ("All done: " if self.writes else "Checked: ") + ", ".join(parts) + "."

    def _entry(self, outcome, with_diff: bool) -> dict:
        entry = {
            "file": outcome.display,
            "status": outcome.status,
            "message": outcome.message,
            "skipped": outcome.skipped,
            "found": [],
            "changed": [],
            "declined": [],
        }
        if outcome.report:
            for key in ("found", "changed", "declined"):
                entry[key] = outcome.report[key]
        if outcome.output:
            entry["output"] = outcome.output
        if outcome.replaced:
            entry["replaced"] = outcome.replaced
        if outcome.encoding:
            entry["encoding"] = outcome.encoding
        if with_diff:
            entry["diff"] = outcome.diff
        return entry

    def json_report(self, target: str, with_diff: bool, exit_code: int) -> dict:
        return {
            "tool": "torch2lightning",
            "version": __version__,
            "target": target,
            "mode": "write" if self.writes else "check",
            "files": [self._entry(o, with_diff) for o in self.outcomes],
            "summary": {
                "files": len(self.outcomes),
                "converted": self.converted,
                "unchanged": self.unchanged,
                "errors": self.errors,
            },
            "exit_code": exit_code,
        }

    def text_report(self, target: str) -> str:
        from converter.cli import file_runner

        lines = [f"torch2lightning {__version__} conversion report (target: {target})", ""]
        for o in self.outcomes:
            if o.status == file_runner.ERROR:
                lines.append(f"{o.display}: could not be processed")
                lines.append(f"  {o.message}")
                continue
            if o.status == file_runner.CONVERTED:
                head = "converted" if self.writes else "would be converted"
                lines.append(f"{o.display}: {head}" + (f" -> {o.output}" if o.output else ""))
            else:
                lines.append(f"{o.display}: unchanged: {o.message}")
            for title in ("found", "changed", "declined"):
                for e in (o.report or {}).get(title, []):
                    where = f"line {e['line']:>5}"
                    if e.get("cell"):  # a notebook's cell
                        where = f"cell {e['cell']:>3}, line {e['line']:>3}"
                    lines.append(f"  {where}  {title:<8}  {e['kind']}: {e['message']}")
        lines += ["", self.summary(), ""]
        return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
