"""``torch2lightning verify``: train a script and its Lightning conversion side by side, compare.

This module runs in the CLI process and must not import torch: the training happens in two child
processes (``python -m converter.verify.runner``, see :mod:`converter.verify.runner`), and the
comparison (:mod:`converter.verify.compare`) reads their traces with the standard library.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click

from converter import TARGETS
from converter.verify import compare

NAMES = ("original", "lightning")
TAIL_LINES = 25
MARKER = ".torch2lightning-verify"


@dataclass
class Run:
    name: str
    script: Path
    cwd: Path
    trace: Path
    stdout: Path
    stderr: Path
    proc: subprocess.Popen | None = None
    started: float = 0.0
    seconds: float = 0.0
    timed_out: bool = False
    cancelled: bool = False  # stopped (or never started) because the other run failed

    def error(self) -> str | None:
        """Why this run has nothing to compare, or None."""
        if self.timed_out:
            return "it did not finish in time (--timeout)"
        if self.proc is not None and self.proc.returncode != 0:
            return f"it failed (exit status {self.proc.returncode})"
        if not self.trace.exists():
            return "it left no trace"
        return None


def _env(seed: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONHASHSEED=str(seed),
        PYTHONUNBUFFERED="1",
        CUDA_VISIBLE_DEVICES="",  # CPU only: the bit-for-bit promise is a CPU promise
    )
    # the runner must be importable from the children's working directories
    package_parent = str(Path(__file__).resolve().parents[2])
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([*paths, package_parent])
    return env


def _start(run: Run, args: list[str], options: list[str], paths: list[Path], env: dict) -> None:
    cmd = [sys.executable, "-m", "converter.verify.runner", "--trace", str(run.trace), *options]
    for p in paths:
        cmd += ["--path", str(p)]
    cmd += ["--", str(run.script), *args]
    run.cwd.mkdir(parents=True, exist_ok=True)
    with open(run.stdout, "wb") as out, open(run.stderr, "wb") as err:
        run.started = time.monotonic()
        run.proc = subprocess.Popen(
            cmd,
            cwd=run.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=os.name == "posix",  # so a timeout can stop DataLoader workers too
        )


def _kill(run: Run) -> None:
    if run.proc is None or run.proc.poll() is not None:
        return
    try:
        if os.name == "posix":
            os.killpg(run.proc.pid, signal.SIGKILL)
        else:
            run.proc.kill()
    except ProcessLookupError:
        pass
    run.proc.wait()


def _wait(runs: list[Run], deadline: float | None) -> None:
    """Wait for the started runs; when one fails or time is up, stop the others at once."""
    started = [run for run in runs if run.proc is not None]
    while True:
        for run in started:
            if run.proc.poll() is not None and not run.seconds:
                run.seconds = time.monotonic() - run.started
        pending = [run for run in started if run.proc.poll() is None]
        if not pending:
            return
        failed = any(run.proc.poll() not in (None, 0) for run in started)
        late = deadline is not None and time.monotonic() > deadline
        if failed or late:
            for run in pending:
                run.timed_out, run.cancelled = late, not late
                _kill(run)
                run.seconds = time.monotonic() - run.started
            return
        time.sleep(0.05)


def _tail(path: Path, n: int = TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.rsplit("\r", 1)[-1] for line in text.rstrip().split("\n")]  # progress bars
    return "\n".join(lines[-n:])


def _show_logs(run: Run) -> None:
    for stream, path in (("stdout", run.stdout), ("stderr", run.stderr)):
        text = _tail(path, n=10**9)
        if text.strip():
            click.echo(f"----- {run.name} script {stream} ({run.script.name}) -----")
            click.echo(text)


HELP = """Train SCRIPT and its Lightning conversion side by side and compare them.

SCRIPT is converted (or, with --against, compared with CONVERTED as it is); both run in their own
Python process with the same seed, one CPU thread, deterministic algorithms and no GPU. Every loss
given to backward() and the final weights of every optimizer are compared; exact by default.

Exit status: 0 equivalent, 1 diverged (first differing step, or weights/step counts),
2 a script could not run or the converter declined (nothing to compare).

Working directories: each script runs in a fresh folder of its own (WORK/original, WORK/lightning,
under a temporary WORK unless --work-dir), so what they write (checkpoints, lightning_logs/, *.pt)
never collides and never lands in your folder. Relative paths in the scripts and in SCRIPT_ARGS
therefore resolve there: pass data paths as absolute paths, or use --cwd DIR to run both scripts in
DIR, one after the other (their outputs may overwrite each other there). The script's own folder
is first on sys.path, as with `python SCRIPT`, so its sibling modules import.

The scripts' output is kept in log files: shown with -v, and its tail when a script fails.

\b
Arguments for both scripts go after `--`:
    torch2lightning verify train.py -- --epochs 1 --data /abs/path
"""


@click.command(help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("script", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("script_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- SCRIPT_ARGS...]")
@click.option(
    "--against",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="CONVERTED",
    help="Compare with this already converted script instead of converting SCRIPT.",
)
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default=TARGETS[0],
    show_default=True,
    help="Lightning package the conversion imports.",
)
@click.option(
    "--max-steps",
    type=click.IntRange(min=1),
    metavar="N",
    help="Stop both runs after N optimizer steps (the weights are compared there).",
)
@click.option(
    "--fake-data",
    is_flag=True,
    help="Replace torchvision datasets (MNIST, FashionMNIST, KMNIST, EMNIST, CIFAR10/100, SVHN, "
    "a missing ImageFolder) by small deterministic fakes: 512 train / 256 test items, offline.",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Allowed difference, absolute below 1 and relative above; 0 means bit-identical.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed set before each run.")
@click.option("--keep", is_flag=True, help="Keep the converted file, traces and logs; say where.")
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Put the converted file, traces, logs and run folders here (implies --keep).",
)
@click.option(
    "--cwd",
    "shared_cwd",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Run both scripts in this folder, one after the other, instead of fresh folders.",
)
@click.option("--timeout", type=click.FloatRange(min=0), help="Seconds allowed for each run.")
@click.option("-v", "--verbose", is_flag=True, help="Show both scripts' output.")
@click.pass_context
def verify(ctx: click.Context, script: Path, script_args: tuple[str, ...], **opts) -> None:
    script = script.resolve()
    args = list(script_args)  # click has taken the `--` away
    work = opts["work_dir"]
    root = work.resolve() if work else Path(tempfile.mkdtemp(prefix="torch2lightning-verify-"))
    if root.is_dir() and any(root.iterdir()) and not (root / MARKER).exists():
        raise click.UsageError(f"--work-dir {work}: not empty, and not a verify work folder")
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).touch()  # a later --work-dir here may clean what verify put here
    try:
        code = _verify(script, args, root, opts)
    finally:
        if opts["keep"] or work:
            click.echo(f"kept the converted file, traces and logs in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    ctx.exit(code)


def _converted(script: Path, root: Path, opts: dict) -> tuple[Path | None, list[str]]:
    """The script to compare against, and notes; None when there is nothing to compare."""
    if opts["against"]:
        return opts["against"].resolve(), []
    from converter import convert_source  # LibCST: only when there is something to convert

    source = script.read_text(encoding="utf-8")
    try:
        result = convert_source(source, target=opts["target"], filename=str(script))
    except Exception as exc:  # a parse error, or a converter bug: nothing to compare either way
        click.echo(f"the converter failed on {script}: {type(exc).__name__}: {exc}", err=True)
        return None, []
    reasons = result.report.reasons()
    if not result.changed:
        click.echo(f"the converter declined {script.name}: nothing to compare.", err=True)
        for line in reasons or ["(no reason given)"]:
            click.echo(f"  {line}", err=True)
        return None, []
    out = root / "converted" / script.name  # same name: __file__-based names stay alike
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(result.code, encoding="utf-8")
    return out, [f"note: left unconverted: {line}" for line in reasons]


def _verify(script: Path, args: list[str], root: Path, opts: dict) -> int:
    converted, notes = _converted(script, root, opts)
    if converted is None:
        return 2
    for note in notes:
        click.echo(note)
    shared = opts["shared_cwd"].resolve() if opts["shared_cwd"] else None
    runs = []
    for name, path in zip(NAMES, (script, converted)):
        if not shared:
            shutil.rmtree(root / name, ignore_errors=True)  # a reused --work-dir starts clean
        runs.append(
            Run(
                name,
                path,
                shared or root / name,
                root / f"{name}.trace.json",
                root / f"{name}.stdout.log",
                root / f"{name}.stderr.log",
            )
        )
    options = ["--seed", str(opts["seed"])]
    if opts["max_steps"]:
        options += ["--max-steps", str(opts["max_steps"])]
    if opts["fake_data"]:
        options.append("--fake-data")
    env = _env(opts["seed"])
    paths = {
        runs[0].name: [script.parent],
        runs[1].name: list(dict.fromkeys([converted.parent, script.parent])),
    }
    other = converted.name if opts["against"] else f"its conversion ({converted})"
    click.echo(
        f"verify: {script.name} vs {other} (seed {opts['seed']}, 1 CPU thread, "
        f"{'shared cwd ' + str(shared) if shared else 'separate working directories'})",
        err=True,
    )
    try:
        for run in runs:
            run.trace.unlink(missing_ok=True)
        if shared:  # one after the other: they share a folder
            for run in runs:
                if any(r.error() for r in runs if r.proc is not None):
                    run.cancelled = True
                    continue
                _start(run, args, options, paths[run.name], env)
                _wait([run], _deadline(opts))
        else:
            for run in runs:
                _start(run, args, options, paths[run.name], env)
            _wait(runs, _deadline(opts))
    finally:
        for run in runs:
            _kill(run)
    if opts["verbose"]:
        for run in runs:
            _show_logs(run)
    if _report_failures(runs, shared is not None):
        return 2
    timing = ", ".join(f"{run.name} {run.seconds:.1f} s" for run in runs)
    click.echo(f"ran: {timing}", err=True)
    traces = [compare.load(str(run.trace)) for run in runs]
    if not any(t["losses"] or t["steps"] for t in traces):
        click.echo("neither script called backward() or stepped an optimizer: nothing to compare.")
        return 2
    result = compare.compare(*traces, opts["tolerance"])
    details, verdict = compare.summary(result, NAMES)
    click.echo(compare.table(result, NAMES))
    click.echo(details)
    click.echo(verdict)
    if not result.equivalent and not opts["verbose"]:
        click.echo("(the scripts' own output: rerun with -v, or --keep for the log files)")
    return 0 if result.equivalent else 1


def _report_failures(runs: list[Run], shared: bool) -> bool:
    """Say which runs could not run and why (their stderr's tail); True if any."""
    failed = [(run, run.error()) for run in runs if not run.cancelled and run.error()]
    for run, why in failed:
        click.echo(f"could not run the {run.name} script {run.script}: {why}", err=True)
        tail = _tail(run.stderr)
        if tail:
            click.echo(f"----- last lines of its stderr -----\n{tail}\n-----", err=True)
        if not shared and ("FileNotFoundError" in tail or "No such file" in tail):
            click.echo(
                "hint: each script runs in its own fresh working directory; pass absolute "
                "paths after --, or use --cwd DIR.",
                err=True,
            )
    if failed:
        for run in runs:
            if run.cancelled:
                click.echo(f"(the {run.name} run was stopped: nothing to compare)", err=True)
    return bool(failed)


def _deadline(opts: dict) -> float | None:
    return None if opts["timeout"] is None else time.monotonic() + opts["timeout"]
