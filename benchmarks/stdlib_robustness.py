"""Run the converter over every ``.py`` file of this Python's standard library.

    python benchmarks/stdlib_robustness.py [--jobs N] [--root DIR] [--limit N | --sample N]
        [--file-timeout S] [--json OUT]

The standard library holds no training loop, so the converter must decline every file: the output
must be byte-identical to the input, and nothing may raise. Each file goes through
``converter.convert_source`` in this process (no pre-filter: every file is parsed and analysed),
with every exception caught and reported with its traceback. Files that are not UTF-8 text, or
that LibCST cannot parse (``ParserSyntaxError``: Python 2 test data of lib2to3, deliberately
broken test files), are counted separately and not held against the converter.

``site-packages`` (installed third-party packages that live under the standard library folder) is
skipped. Prints files, lines and files per second, and exits 1 when a file crashed the converter,
was changed, or ran past ``--file-timeout``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import sysconfig
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

SKIPPED_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__"})

OK = "declined"  # the expected outcome: output identical to the input
CHANGED = "changed"  # the converter rewrote a standard library file: a bug
CRASHED = "crashed"  # convert_source raised something other than ParserSyntaxError
TIMEOUT = "timeout"  # ran past --file-timeout
NOT_UTF8 = "not-utf8"  # skipped: not UTF-8 text
NO_PARSE = "no-parse"  # skipped: a syntax error, or over the parse budgets (size, nesting)
PROBLEMS = (CHANGED, CRASHED, TIMEOUT)


@dataclass
class Outcome:
    path: str  # relative to the root
    status: str
    lines: int = 0
    seconds: float = 0.0  # wall-clock time inside convert_source
    cpu: float = 0.0  # this process's CPU time inside convert_source (steady on a busy machine)
    detail: str = ""  # the traceback of a crash, the parse error, the first changed line


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(root: Path) -> list[Path]:
    """Every ``.py`` file under ``root``, sorted, skipping site-packages and caches."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        found.extend(Path(folder) / f for f in files if f.endswith(".py"))
    return sorted(found)


def sample(files: list[Path], root: Path, n: int, max_lines: int = 0) -> list[Path]:
    """A deterministic sample of ``n`` files (of at most ``max_lines`` lines, if given).

    Files whose text mentions ``backward`` or ``step(`` reach the converter's deeper analysis
    (``turtledemo`` calls ``turtle.backward()`` in loops), so up to half the sample is drawn from
    them; the rest from the others. Within each group the order is a hash of the relative path,
    the same on every machine with the same Python version.
    """

    def key(p: Path) -> str:
        return hashlib.sha1(p.relative_to(root).as_posix().encode()).hexdigest()

    hinted, others = [], []
    for p in files:
        try:
            text = p.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if max_lines and text.count("\n") > max_lines:
            continue
        (hinted if ("backward" in text or "step(" in text) else others).append(p)
    hinted.sort(key=key)
    others.sort(key=key)
    picked = hinted[: n // 2]
    return sorted(picked + others[: n - len(picked)])


class _Timeout(BaseException):
    pass


def _alarm(_signum, _frame):
    raise _Timeout


def check_file(path: Path, root: Path, timeout: float = 0) -> Outcome:
    """Convert one file in this process; never raises (except KeyboardInterrupt)."""
    import libcst

    from converter import convert_source
    from converter.parsing import SourceRejected

    rel = path.relative_to(root).as_posix()
    try:
        data = path.read_bytes()
        source = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return Outcome(rel, NOT_UTF8, detail=str(err))
    except OSError as err:
        return Outcome(rel, NOT_UTF8, detail=f"cannot read: {err}")
    lines = source.count("\n") + (0 if source.endswith("\n") or not source else 1)
    use_alarm = timeout > 0 and hasattr(signal, "setitimer")
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    start, start_cpu = time.perf_counter(), time.process_time()

    def outcome(status: str, detail: str = "") -> Outcome:
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        return Outcome(rel, status, lines, wall, cpu, detail)

    try:
        result = convert_source(source, filename=rel)
    except libcst.ParserSyntaxError as err:
        return outcome(NO_PARSE, str(err).splitlines()[0])
    except SourceRejected as err:  # over the size or nesting budget
        return outcome(NO_PARSE, err.message)
    except RecursionError:
        return outcome(NO_PARSE, "nested too deeply")
    except _Timeout:
        return outcome(TIMEOUT, f"over {timeout} s")
    except Exception:  # the converter's bug: report it, go on
        return outcome(CRASHED, traceback.format_exc())
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    if result.code != source or result.code.encode("utf-8") != data:
        return outcome(CHANGED, _first_difference(source, result.code))
    return outcome(OK)


def _first_difference(a: str, b: str) -> str:
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return f"line {i + 1}: {x!r} -> {y!r}"
    return f"line count {len(la)} -> {len(lb)}"


def _check_in_worker(job: tuple[Path, Path, float]) -> Outcome:
    return check_file(*job)


def run(files: list[Path], root: Path, timeout: float = 0, progress: bool = False, jobs: int = 1):
    """Check every file (in ``jobs`` forked processes when more than one); report problems as
    they come. Returns the outcomes and the wall-clock seconds."""
    outcomes = []
    start = time.perf_counter()
    work = [(p, root, timeout) for p in files]
    pool = None
    if jobs > 1:
        import multiprocessing

        pool = multiprocessing.get_context("fork").Pool(jobs)
        results = pool.imap(_check_in_worker, work, chunksize=4)
    else:
        results = map(_check_in_worker, work)
    try:
        for i, outcome in enumerate(results, 1):
            outcomes.append(outcome)
            if outcome.status in PROBLEMS:
                print(f"{outcome.status.upper()}: {outcome.path}", file=sys.stderr)
                print(outcome.detail.rstrip(), file=sys.stderr)
            elif progress and i % 200 == 0:
                print(f"... {i} files, {time.perf_counter() - start:.0f} s", file=sys.stderr)
    finally:
        if pool is not None:
            pool.terminate()
    return outcomes, time.perf_counter() - start


def summarize(outcomes: list[Outcome], wall: float, root: Path) -> dict:
    by = {s: [o for o in outcomes if o.status == s] for s in (OK, *PROBLEMS, NOT_UTF8, NO_PARSE)}
    converted = [o for o in outcomes if o.status not in (NOT_UTF8, NO_PARSE)]
    lines = sum(o.lines for o in converted)
    conv_seconds = sum(o.seconds for o in converted)
    cpu = sum(o.cpu for o in converted)
    slowest = sorted(converted, key=lambda o: o.cpu, reverse=True)[:5]
    return {
        "python": sys.version.split()[0],
        "root": str(root),
        "files_found": len(outcomes),
        "files_converted": len(converted),
        "lines_converted": lines,
        "declined_identical": len(by[OK]),
        "changed": [o.path for o in by[CHANGED]],
        "crashed": [o.path for o in by[CRASHED]],
        "timeouts": [o.path for o in by[TIMEOUT]],
        "skipped_not_utf8": [o.path for o in by[NOT_UTF8]],
        "skipped_no_parse": [o.path for o in by[NO_PARSE]],
        "wall_seconds": round(wall, 2),
        "convert_seconds": round(conv_seconds, 2),
        "cpu_seconds": round(cpu, 2),
        # per process: files (lines) divided by the CPU seconds spent inside convert_source
        # (CPU time, not wall time: the figure holds on a machine busy with other work)
        "files_per_second": round(len(converted) / cpu, 1) if cpu else None,
        "lines_per_second": round(lines / cpu) if cpu else None,
        "wall_files_per_second": round(len(outcomes) / wall, 1) if wall else None,
        "slowest": [(o.path, round(o.cpu, 2), o.lines) for o in slowest],
    }


def use_commit(rev: str, dest: Path) -> str:
    """Import the converter as committed at ``rev`` (exported to ``dest``), not the working tree
    that others may be editing; returns the full commit id."""
    import io
    import shutil
    import subprocess
    import tarfile

    repo = Path(__file__).resolve().parents[1]

    def git(*args: str) -> bytes:
        cmd = ["git", "-C", str(repo), *args]
        return subprocess.run(cmd, check=True, capture_output=True).stdout

    commit = git("rev-parse", "--verify", rev + "^{commit}").decode().strip()
    with tarfile.open(fileobj=io.BytesIO(git("archive", commit, "converter", "templates"))) as tar:
        tar.extractall(dest, filter="data")
    shutil.copytree(dest / "templates", dest / "converter" / "templates")
    sys.path.insert(0, str(dest))
    import converter

    if not converter.__file__.startswith(str(dest)):
        raise SystemExit(f"imported {converter.__file__}, not the snapshot in {dest}")
    return commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="default: this Python's stdlib")
    parser.add_argument("--limit", type=int, default=0, help="only the first N files (sorted)")
    parser.add_argument("--sample", type=int, default=0, help="a deterministic sample of N files")
    parser.add_argument(
        "--max-lines", type=int, default=0, help="with --sample: only files of at most N lines"
    )
    parser.add_argument(
        "--file-timeout", type=float, default=120, help="seconds per file (0: none)"
    )
    parser.add_argument("-j", "--jobs", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--json", type=Path, help="write the summary and every outcome here")
    parser.add_argument("--at", metavar="REV", help="the converter as committed at REV")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)

    root = (args.root or stdlib_root()).resolve()
    snapshot = None
    if args.at:
        import tempfile

        snapshot = tempfile.TemporaryDirectory(prefix="torch2lightning-snapshot-")
        print(f"torch2lightning at {use_commit(args.at, Path(snapshot.name))}")
    files = stdlib_files(root)
    if args.sample:
        files = sample(files, root, args.sample, args.max_lines)
    if args.limit:
        files = files[: args.limit]
    print(f"converting {len(files)} files under {root} (Python {sys.version.split()[0]})")
    outcomes, wall = run(files, root, args.file_timeout, not args.quiet, args.jobs)
    s = summarize(outcomes, wall, root)

    print(f"files found:            {s['files_found']}")
    print(f"  skipped, not UTF-8:   {len(s['skipped_not_utf8'])}")
    print(f"  skipped, no parse:    {len(s['skipped_no_parse'])} (LibCST ParserSyntaxError)")
    print(f"files converted:        {s['files_converted']} ({s['lines_converted']} lines)")
    print(f"  declined, identical:  {s['declined_identical']}")
    print(f"  changed (bug):        {len(s['changed'])}")
    print(f"  crashed (bug):        {len(s['crashed'])}")
    print(f"  over the time limit:  {len(s['timeouts'])}")
    print(
        f"speed: {s['files_per_second']} files/s, {s['lines_per_second']} lines/s per CPU second "
        f"({s['cpu_seconds']} CPU s inside convert_source); wall: {s['wall_seconds']} s with "
        f"{args.jobs} process(es), {s['wall_files_per_second']} files/s"
    )
    print("slowest (CPU): " + ", ".join(f"{p} {t} s ({n} lines)" for p, t, n in s["slowest"]))
    for title in ("changed", "crashed", "timeouts"):
        for p in s[title]:
            print(f"{title}: {p}")
    if snapshot is not None:
        snapshot.cleanup()
    if args.json:
        doc = {"summary": s, "outcomes": [asdict(o) for o in outcomes]}
        args.json.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return 1 if (s["changed"] or s["crashed"] or s["timeouts"]) else 0


if __name__ == "__main__":
    sys.exit(main())
