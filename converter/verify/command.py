"""``torch2lightning verify``: train a script and its Lightning conversion side by side, compare.

This module runs in the CLI process and must not import torch: the training happens in child
processes (``python -m converter.verify.runner``, see :mod:`converter.verify.runs` and
:mod:`converter.verify.runner`), and the comparisons (:mod:`~converter.verify.compare`,
:mod:`~converter.verify.printed`, :mod:`~converter.verify.evaluation`) read their traces with the
standard library.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

import click

from converter import FALLBACKS, PACKAGES, TARGETS, notebook
from converter.verify import beside, compare, evaluation, outcome, printed, runs, uses, warm
from converter.verify.runs import Run

NAMES = ("original", "lightning")
MARKER = ".torch2lightning-verify"
DEFAULT_TIMEOUT = 1800.0
GPU_TOLERANCE = 1e-5

EXIT_EQUIVALENT, EXIT_DIVERGED, EXIT_NOTHING_TO_COMPARE, EXIT_INTERNAL_ERROR = 0, 1, 2, 3


class Interrupted(BaseException):
    """A terminating signal (SIGTERM, SIGHUP) turned into an exception, so that ``finally``
    blocks stop the children and remove the temporary folder, as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _signals_raise():
    def handler(signum, frame):
        raise Interrupted(signum)

    names = [n for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    previous = {}
    for name in names:
        sig = getattr(signal, name)
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class Console:
    """The report goes to stdout, or to stderr when stdout carries ``--json``."""

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode

    def say(self, text: str) -> None:
        click.echo(text, err=self.json_mode)

    def warn(self, text: str) -> None:
        click.echo(text, err=True)


HELP = f"""Train SCRIPT and its Lightning conversion side by side and compare them.

SCRIPT is converted (or, with --against, compared with CONVERTED as it is; that needs no
converter); both run in their own Python process with the same seed, one CPU thread,
deterministic algorithms and no GPU. Compared: every loss given to backward(), the final weights
of every optimizer, and the lines the scripts print on stdout (Lightning's own output, such as its
progress bar, info lines and results tables, is told apart and left out); exact by default.

\b
Exit status:
  0    equivalent
  1    diverged (first differing step or printed line, weights, step counts,
       or, with --devices, the evaluation on N processes)
  2    nothing to compare: a script could not run, the converter declined or
       could not read SCRIPT, --accelerator gpu found no GPU
  3    verify itself failed (a bug: please report)
  130  interrupted (Ctrl-C; 128+N for signal N); the temporary folder is removed

Working directories: each script runs in a fresh folder of its own (WORK/original, WORK/lightning,
under a temporary WORK unless --work-dir), so what they write (checkpoints, lightning_logs/, *.pt)
never collides and never lands in your folder. Relative paths in the scripts and in SCRIPT_ARGS
therefore resolve there: pass data paths as absolute paths, or use --cwd DIR to run both scripts in
DIR, one after the other (their outputs may overwrite each other there). The script's own folder
is first on sys.path, as with `python SCRIPT`, so its sibling modules import (a `converter.py`
of its own included).

Printed output: lines compared in order, blank lines and trailing spaces ignored, numbers within
--tolerance; when --max-steps stops the runs, up to the shorter output. --ignore-line REGEX drops
matching lines (timings), --ignore-output skips the comparison.

--devices N also evaluates the trained conversion's weights on 1 and on N CPU processes (DDP,
gloo) and requires the same printed lines, once, and the same logged metrics.

--accelerator gpu runs both scripts with the GPU visible (the original picks its device itself;
the conversion's Trainer gets accelerator="gpu", devices=1 unless the conversion pins it to
accelerator="cpu"), TF32 off, deterministic kernels
where they exist, and a default tolerance of {GPU_TOLERANCE:g}.

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
    help="Lightning package the conversion imports; fabric: Lightning Fabric runs the script's "
    "own loop.",
)
@click.option(
    "--fallback",
    type=click.Choice(FALLBACKS),
    help="Convert to this target where the Trainer conversion declines (as convert --fallback).",
)
@click.option(
    "--lightning-package",
    "package",
    type=click.Choice(PACKAGES),
    help="The Lightning distribution the conversion imports from (as convert --lightning-package).",
)
@click.option(
    "--datamodule",
    is_flag=True,
    help="Convert with the loaders' code in a LightningDataModule (as convert --datamodule).",
)
@click.option(
    "--callbacks",
    is_flag=True,
    help="Convert with a patience counter as EarlyStopping (as convert --callbacks).",
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
    "a missing ImageFolder) by small deterministic fakes: 512 train / 256 test items, offline; "
    "an index up to the real size reads them round and round.",
)
@click.option(
    "--old-torch-api",
    is_flag=True,
    help="Restore, in both runs, what old tutorials rely on: `loss.data[0]`, `iterator.next()`, "
    "torch.load of any pickle, schedulers' verbose=, BCE of [N] vs [N, 1], transforms.Scale, "
    "NumPy's np.Inf/np.float, add_subplot(2, 20/2, i).",
)
@click.option(
    "--cuda-on-cpu",
    is_flag=True,
    help="Run a script that hard-codes CUDA (`.cuda()`, `torch.cuda.FloatTensor`) on the CPU, "
    "in both runs: `.cuda()` copies to the CPU.",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    help="Allowed difference, absolute below 1 and relative above; 0 means bit-identical. "
    f"[default: 0 on the CPU, {GPU_TOLERANCE:g} with --accelerator gpu]",
)
@click.option(
    "--accelerator",
    type=click.Choice(("cpu", "gpu")),
    default="cpu",
    show_default=True,
    help="gpu: run both scripts with the GPU visible, the conversion on it (see above).",
)
@click.option(
    "--devices",
    type=click.IntRange(min=2),
    metavar="N",
    help="Also evaluate the trained weights on N CPU processes and compare with 1 (see above).",
)
@click.option(
    "--lightning-uses",
    is_flag=True,
    help="Also use the conversion as a Lightning user would (one more run): validate, test and "
    "predict alone on a fresh and on the trained module, fit with the default sanity check and "
    "check_val_every_n_epoch=2, load_from_checkpoint giving the same numbers, logged values "
    "equal to printed ones.",
)
@click.option("--ignore-output", is_flag=True, help="Do not compare what the scripts print.")
@click.option(
    "--ignore-line",
    "ignore_lines",
    multiple=True,
    metavar="REGEX",
    help="Leave printed lines matching REGEX (re.search) out of the comparison; repeatable.",
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
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds allowed for each run (0: no limit).",
)
@click.option(
    "--cold-start",
    is_flag=True,
    help="Start every run of the conversion in a fresh Python, not forked from one that has "
    "imported Lightning (slower; see docs/verify.md).",
)
@click.option("--json", "json_output", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Show the scripts' output.")
@click.pass_context
def verify(ctx: click.Context, script: Path, script_args: tuple[str, ...], **opts) -> None:
    console = Console(opts["json_output"])
    result: dict = {"script": str(script), "against": opts["against"] and str(opts["against"])}
    from converter.cli.commands import checked_package

    opts["package"] = checked_package(opts["target"], opts["package"])
    if opts["devices"] and opts["accelerator"] != "cpu":
        raise click.UsageError("--devices N runs N CPU processes: use it with --accelerator cpu")
    if opts["cuda_on_cpu"] and opts["accelerator"] != "cpu":
        raise click.UsageError("--cuda-on-cpu and --accelerator gpu: use one or the other")
    for pattern in opts["ignore_lines"]:
        try:
            re.compile(pattern)
        except re.error as err:
            raise click.BadParameter(f"{pattern!r}: {err}", param_hint="--ignore-line") from None
    with _signals_raise():
        try:
            code = _main(script.resolve(), list(script_args), opts, console, result)
        except Interrupted as exc:
            console.warn(f"verify: stopped by signal {exc.signum}; the runs were stopped")
            code = 128 + exc.signum
        except KeyboardInterrupt:
            console.warn("verify: interrupted; the runs were stopped")
            code = 130
        except click.ClickException:
            raise
        except Exception as exc:  # a bug of verify: never reported as a divergence (exit 1)
            console.warn(f"verify: internal error: {type(exc).__name__}: {exc} (please report)")
            code = EXIT_INTERNAL_ERROR
    result["exit_code"] = code
    result.setdefault("verdict", {130: "interrupted", 3: "internal-error"}.get(code, "stopped"))
    if opts["json_output"]:
        click.echo(json.dumps(result, indent=2))
    ctx.exit(code)


def _main(script: Path, args: list[str], opts: dict, console: Console, result: dict) -> int:
    # The conversion comes first, in memory: no folder exists yet that a crash could leave behind.
    converted = None if opts["against"] else _convert(script, opts, console, result)
    if converted is None and not opts["against"]:
        return EXIT_NOTHING_TO_COMPARE
    work = opts["work_dir"]
    if work and work.is_dir() and any(work.iterdir()) and not (work / MARKER).exists():
        raise click.UsageError(f"--work-dir {work}: not empty, and not a verify work folder")
    root = work.resolve() if work else Path(tempfile.mkdtemp(prefix="torch2lightning-verify-"))
    server, starts = None, warm.COLD
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / MARKER).touch()  # a later --work-dir here may clean what verify put here
        if opts["against"]:
            against = opts["against"].resolve()
        else:
            against = root / "converted" / script.name  # same name: __file__-based names alike
            against.parent.mkdir(parents=True, exist_ok=True)
            against.write_bytes(converted)  # in the script's own encoding
        home = script.parent
        kernel = []  # a notebook's kernel also imports from its working folder, as IPython does
        if notebook.is_notebook(script) or notebook.is_notebook(against):
            scripts = _notebook_scripts((script, against), root, console)
            if scripts is None:
                return EXIT_NOTHING_TO_COMPARE
            script, against = scripts
            kernel = [Path(".")]  # each run's own folder, where the notebook's neighbours are
        server = _warm_server(root, opts)
        starts = _starts(server, against)
        return _verify(script, against, args, root, opts, console, result, home, kernel, starts)
    finally:
        if server is not None:
            server.close()
        result.update(starts.said())
        if opts["keep"] or work:
            console.warn(f"kept the converted file, traces and logs in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def _convert(script: Path, opts: dict, console: Console, result: dict) -> bytes | None:
    """The conversion's bytes (the file's encoding kept), or None when there is nothing to
    compare; the same reading, decoding and one-line errors as ``torch2lightning convert``."""
    from converter import files
    from converter.cli import file_runner
    from converter.report import ASKED_FOR, place

    source = files.Source(script, str(script), explicit=True)
    options = file_runner.Options(
        target=opts["target"],
        write="stdout",
        fallback=opts.get("fallback"),
        package=opts["package"],
        datamodule=opts["datamodule"],
        callbacks=opts["callbacks"],
    )
    outcome = file_runner.process(source, options)
    declined = (outcome.report or {}).get("declined", [])
    reasons = [f"{place(outcome.display, e)}: {e['message']}" for e in declined]
    if outcome.status == file_runner.ERROR:
        console.warn(outcome.message)
        result["verdict"] = "cannot-convert"
        return None
    if outcome.status != file_runner.CONVERTED:
        console.warn(f"the converter declined {script.name}: nothing to compare.")
        for line in reasons or [f"{outcome.display}: {outcome.message or '(no reason given)'}"]:
            console.warn(f"  {line}")
        result["verdict"] = "declined"
        return None
    for line in reasons:
        console.say(f"note: left unconverted: {line}")
    report = outcome.report or {}
    for entry in report.get("changed", []) + report.get("found", []):
        if entry["kind"] in ("fallback", *ASKED_FOR):  # what the options the user gave did
            console.say(f"note: {entry['message']}")
    return outcome.data


def _notebook_scripts(pair: tuple[Path, Path], root: Path, console) -> tuple[Path, Path] | None:
    """A notebook runs as one script of its code cells, in order (IPython lines left out), as a
    kernel runs them from the top; a script stays itself."""
    from converter.notebook.conversion import runnable_script
    from converter.notebook.format import NotebookProblem

    out = []
    for name, path in zip(NAMES, pair):
        if not notebook.is_notebook(path):
            out.append(path)
            continue
        try:
            code = runnable_script(path.read_bytes())
        except NotebookProblem as problem:
            place = problem.where()
            console.warn(f"{path}: {place + ': ' if place else ''}{problem.message}")
            return None
        runnable = root / "notebook" / name / (path.stem + ".py")
        runnable.parent.mkdir(parents=True, exist_ok=True)
        runnable.write_text(code, encoding="utf-8")
        out.append(runnable)
    console.warn(
        "verify: a notebook runs as one script of its code cells, IPython lines left out "
        f"({root / 'notebook'})"
    )
    return out[0], out[1]


def _max_steps(opts: dict) -> list[str]:
    """The tracer's stop after N optimizer steps: for the runs whose training is compared."""
    return ["--max-steps", str(opts["max_steps"])] if opts["max_steps"] else []


def _runner_options(opts: dict, own: list[str]) -> list[str]:
    options = ["--seed", str(opts["seed"]), "--accelerator", opts["accelerator"], *own]
    if opts["fake_data"]:
        options.append("--fake-data")
    if opts["old_torch_api"]:
        options.append("--old-torch-api")
    if opts["cuda_on_cpu"]:
        options.append("--cuda-on-cpu")
    return options


def _trainer(**overrides) -> list[str]:
    return [a for k, v in overrides.items() for a in ("--trainer", f"{k}={json.dumps(v)}")]


def _warm_server(root: Path, opts: dict) -> warm.Server | None:
    """The process the runs fork from (warm.py), or None: every run starts cold."""
    if opts["cold_start"] or opts["accelerator"] == "gpu" or not hasattr(os, "fork"):
        return None
    env, _ = runs.environment(opts["seed"], gpu=False)
    return warm.Server(runs.without_launchers(env), root, root / "warm-server.log")


def _starts(server: warm.Server | None, converted: Path) -> warm.Starts:
    """The original forks once torch is imported; the conversion once what it imports first
    (Lightning) is imported too."""
    if server is None:
        return warm.COLD
    try:
        modules = warm.preloads(converted.read_text("utf-8", errors="replace"))
    except OSError:
        modules = []
    return warm.Starts(server.stage([]), server.stage(modules))


def _verify(
    script: Path,
    converted: Path,
    args: list[str],
    root: Path,
    opts: dict,
    console,
    result,
    home: Path | None = None,
    kernel: list[Path] | None = None,
    starts: warm.Starts = warm.COLD,
) -> int:
    gpu = opts["accelerator"] == "gpu"
    tolerance = opts["tolerance"]
    if tolerance is None:
        tolerance = GPU_TOLERANCE if gpu else 0.0
    shared = opts["shared_cwd"].resolve() if opts["shared_cwd"] else None
    env, own = runs.environment(opts["seed"], gpu)
    lightning_options = _trainer(accelerator="gpu", devices=1) if gpu else []
    if opts["devices"]:
        lightning_options += ["--save-weights", str(root / "weights.pt")]
    pair = [
        Run.in_folder(NAMES[0], script, root, shared),
        Run.in_folder(NAMES[1], converted, root, shared, options=lightning_options),
    ]
    for run in pair:
        if not shared:
            shutil.rmtree(run.cwd, ignore_errors=True)  # a reused --work-dir starts clean
    home = home or script.parent  # the original's folder: its sibling modules import
    opts["beside"], left = ([], []) if shared else beside.entries(home, root)
    if left:
        named = ", ".join(left[:5]) + (f" and {len(left) - 5} more" if len(left) > 5 else "")
        console.warn(
            f"verify: not copied beside the runs (over {beside.BUDGET >> 20} MiB, or too many, "
            f"with the rest of {home}): {named}; pass absolute paths, or --cwd {home}"
        )
    paths = {
        script: [home, *(kernel or [])],
        converted: list(dict.fromkeys([converted.parent, home, *(kernel or [])])),
    }
    other = converted.name if opts["against"] else f"its conversion ({converted})"
    where = f"shared cwd {shared}" if shared else "separate working directories"
    device = "the GPU visible" if gpu else "1 CPU thread"
    console.warn(f"verify: {script.name} vs {other} (seed {opts['seed']}, {device}, {where})")
    result.update(accelerator=opts["accelerator"], tolerance=tolerance)
    for run in pair:
        run.options += ["--outcome", *_max_steps(opts)]
    use = _uses_run(converted, root, shared, opts) if opts["lightning_uses"] else None
    pair[0].warm, pair[1].warm = starts
    if use is not None:
        use.warm = starts.conversion
    besides = [use] if use else []
    options = _runner_options(opts, own)
    groups = [[run] for run in [*pair, *besides]] if shared else [[*pair, *besides]]
    _execute(groups, args, options, paths, env, opts["timeout"], opts["beside"])
    if opts["verbose"]:
        for run in pair:
            _show_logs(run, console)
    result["runs"] = {run.name: _run_summary(run) for run in pair}
    if _no_gpu(pair, console):
        result["verdict"] = "no-gpu"
        return EXIT_NOTHING_TO_COMPARE
    if _report_failures(pair, shared is not None, console, opts):
        result["verdict"] = "failed"
        return EXIT_NOTHING_TO_COMPARE
    timing = ", ".join(f"{run.name} {run.seconds:.1f} s" for run in pair)
    console.warn(f"ran: {timing}")
    traces = [compare.load(str(run.trace)) for run in pair]
    for run, trace in zip(pair, traces):
        result["runs"][run.name]["devices"] = compare.devices(trace)
    if not any(t["losses"] or t["steps"] for t in traces):
        console.say("neither script called backward() or stepped an optimizer: nothing to compare.")
        result["verdict"] = "nothing-to-compare"
        return EXIT_NOTHING_TO_COMPARE
    losses = compare.compare(*traces, tolerance)
    lines, left = _compare_printed(traces, opts, tolerance), outcome.compare(*traces, tolerance)
    if not (losses.equivalent and left.equivalent and (lines is None or lines.equivalent)):
        # Something differs: is it evidence? What differs between two runs of the original
        # itself (a clock, a date) is not; see converter/verify/clock.py.
        again = _run_original_again(pair[0], root, shared, args, options, paths, env, opts, console)
        if again is not None:
            itself = compare.compare(traces[0], again, tolerance)
            if not itself.equivalent:
                _, why = compare.summary(itself, ("first run", "second run"))
                console.say(
                    "the original trains differently in a second run with the same seed "
                    f"({why.removeprefix('DIVERGED').lstrip(': ')}): its training does not "
                    "reproduce here, so nothing can be compared (does it seed from the clock, "
                    "or use nondeterministic kernels?)"
                )
                result["verdict"] = "not-reproducible"
                return EXIT_NOTHING_TO_COMPARE
            lines = _compare_printed(traces, opts, tolerance, again, console)
            left = outcome.compare(*traces, tolerance, again)
    details, verdict = compare.summary(losses, NAMES)
    console.say(compare.table(losses, NAMES))
    console.say(details)
    console.say("\n".join(left.details()))
    if gpu:
        trained = ", ".join(
            f"{r.name} on {'+'.join(compare.devices(t))}" for r, t in zip(pair, traces)
        )
        console.say(f"trained: {trained}")
    if lines is not None:
        console.say("\n".join(printed.describe(lines, NAMES)))
    _record(result, losses, lines, left)
    equivalent = losses.equivalent and left.equivalent and (lines is None or lines.equivalent)
    if losses.equivalent and lines is not None and not lines.equivalent:
        verdict = printed.verdict(lines, NAMES)
    elif losses.equivalent and not left.equivalent:
        verdict = left.verdict()
    elif equivalent:
        verdict = _equivalent(losses, left, lines, tolerance)
    code = EXIT_EQUIVALENT if equivalent else EXIT_DIVERGED
    if opts["lightning_uses"] and use is None:
        console.say(f"{USES}: none to check (a Fabric script keeps its own loop)")
    if use is not None:
        stopped = any(t["status"] == "stopped" for t in traces)
        used = _judge_uses(use, opts, console, script if stopped else None)
        result["lightning_uses"] = used
        if used["problems"]:
            if equivalent:
                verdict = f"A LIGHTNING USE FAILS: {used['problems'][0]}"
            code = EXIT_DIVERGED
    if opts["devices"]:
        checked = _check_processes(
            converted, args, root, shared, opts, env, own, paths, console, starts.conversion
        )
        result["devices_check"] = checked
        if checked["verdict"] == "failed":
            console.say(f"{verdict} But {checked['message']}")
            result.update(verdict="failed", message=checked["message"])
            return EXIT_NOTHING_TO_COMPARE
        if checked["verdict"] == "diverged":
            if equivalent:
                verdict = f"DIVERGED on {opts['devices']} processes: {checked['problems'][0]}"
            code = EXIT_DIVERGED
    console.say(verdict)
    if code != EXIT_EQUIVALENT and not opts["verbose"]:
        console.say("(the scripts' own output: rerun with -v, or --keep for the log files)")
    result.update(verdict="equivalent" if code == EXIT_EQUIVALENT else "diverged", message=verdict)
    return code


def _equivalent(losses: compare.Comparison, left: outcome.Outcome, lines, tolerance: float) -> str:
    """The verdict line of an equivalent pair: what was found identical, counted."""
    what = [f"every loss ({len(losses.original)})"]
    if left.compared:
        what.append(
            f"all {left.tensors} tensors of {left.modules} module{'s' if left.modules != 1 else ''}"
            " with their modes and gradients"
        )
        if left.optimizers:
            what.append(f"{left.optimizers} optimizer state{'s' if left.optimizers != 1 else ''}")
        what.append(f"{len(left.files)} saved file{'s' if len(left.files) != 1 else ''}")
    else:
        what.append("every final weight")
    if lines is not None:
        what.append(printed.count(range(lines.compared)).replace("line", "printed line"))
    how = "identical" if tolerance == 0 else f"within tolerance {tolerance:g}"
    return f"EQUIVALENT: {', '.join(what[:-1])} and {what[-1]} {how}."


def _run_original_again(first: Run, root, shared, args, options, paths, env, opts, console):
    """The original once more, its clocks skewed, or None when that run fails."""
    more = ["--skewed-clock", "--outcome", *_max_steps(opts)]
    again = Run.in_folder("original-again", first.script, root, shared, options=more)
    if not shared:
        shutil.rmtree(again.cwd, ignore_errors=True)
    console.warn(
        "verify: something differs; running the original again to tell its own "
        "variation (clocks, dates) from the conversion's"
    )
    _execute([[again]], args, options, paths, env, opts["timeout"], opts["beside"])
    if again.error():
        console.warn(f"(the second run of the original failed: {again.last_error_line()})")
        return None
    return compare.load(str(again.trace))


def _compare_printed(traces: list[dict], opts: dict, tolerance: float, again=None, console=None):
    if opts["ignore_output"]:
        return None
    patterns = [re.compile(p) for p in opts["ignore_lines"]]

    def kept(trace: dict) -> list[str]:
        found = printed.lines(trace.get("printed", []))
        return [line for line in found if not any(p.search(line) for p in patterns)]

    stopped = any(t["status"] == "stopped" for t in traces)
    varies = None
    if again is not None:
        varies = printed.varying(kept(traces[0]), kept(again))
        if varies is None:
            console.say(
                "printed output: not compared: the original printed a different number of lines "
                "in a second run (with its clocks skewed), so its output is no evidence"
            )
            return None
    original, converted = kept(traces[0]), kept(traces[1])
    return printed.compare_lines(original, converted, tolerance, prefix_only=stopped, varies=varies)


def _check_processes(
    converted, args, root, shared, opts, env, own, paths, console, warm_start=None
) -> dict:
    """``--devices N``: evaluate the trained weights on 1 and N processes; see evaluation.py."""
    n = opts["devices"]
    weights = root / "weights.pt"
    fabric = _runs_fabric(converted)
    title = f"--devices {n}: the conversion's evaluation of its trained weights, 1 vs {n} processes"
    if not weights.exists():
        never = "set up no model with Fabric" if fabric else "never called Trainer.fit"
        message = f"{title}: nothing to check (the conversion {never})"
        console.warn(message)
        return {"verdict": "failed", "message": message}
    base = ["--evaluate-weights", str(weights), "--fits", str(_fits(weights))]
    # A Fabric script keeps its own loop (and may call torch.distributed itself): its single
    # process is a world of one, started as each of the N ranks is.
    single = "ddp" if fabric else "auto"
    one = Run.in_folder(
        "evaluate-1",
        converted,
        root,
        shared,
        options=base + _trainer(accelerator="cpu", devices=1, strategy=single, num_nodes=1),
        env=_rank(0, str(runs.free_port())) if fabric else {},
    )
    port = str(runs.free_port())
    # one folder, as under torchrun (a rank reads back what rank 0 saved); what another rank
    # writes too is told by its opening the file (opened.py). A Fabric script keeps a folder per
    # rank: its own loop may keep per-process files (tests/test_fabric_amp.py's)
    ranks = [
        Run(
            f"evaluate-{n}-rank{rank}",
            converted,
            shared or root / (f"evaluate-{n}-rank{rank}" if fabric else f"evaluate-{n}"),
            root / f"evaluate-{n}-rank{rank}.trace.json",
            root / f"evaluate-{n}-rank{rank}.stdout.log",
            root / f"evaluate-{n}-rank{rank}.stderr.log",
            options=base
            + _trainer(accelerator="cpu", devices=n, strategy="ddp", num_nodes=1)
            + (["--files-opened"] if rank else []),
            env=_rank(rank, port),
        )
        for rank in range(n)
    ]
    for run in (one, *ranks):
        run.warm = warm_start
    groups = [[one], ranks] if shared else [[one, *ranks]]
    options = _runner_options(opts, own)
    env = runs.without_launchers(env)
    _execute(groups, args, options, paths, env, opts["timeout"], opts["beside"])
    every = [one, *ranks]
    if opts["verbose"]:
        for run in every:
            _show_logs(run, console)
    if _report_failures(every, shared is not None, console, opts):
        message = f"{title}: an evaluation run failed, nothing to check"
        console.warn(message)
        return {"verdict": "failed", "message": message}
    raised = [_last_line(compare.load(str(r.trace)).get("error")) for r in every]
    if any(raised):
        if len(set(raised)) > 1:  # not the script's own code after training: the processes
            message = f"{title}: after the last fit, the runs raised differently: {raised}"
            console.warn(message)
            return {"verdict": "diverged", "message": message}
        console.say(
            f"{title}: after its last fit the conversion's code raised in every run "
            f"({raised[0]}): it reads what training makes, and training does not run in this "
            "check; the evaluations before it are compared"
        )
    reference = compare.load(str(one.trace))
    traces = [compare.load(str(r.trace)) for r in ranks]
    found = evaluation.check(reference, traces, opts["tolerance"] or 0.0, fabric)
    if not reference.get("evaluations"):
        never = "never puts a model in eval mode" if fabric else "neither validates nor tests"
        found.details.append(f"no evaluation to compare (the conversion {never})")
    for rank, trace in enumerate(traces[1:], 1):
        again = [f["path"] for f in trace.get("written", ())]
        if again:
            saver = (
                "fabric.save, or if fabric.is_global_zero:"
                if fabric
                else "if trainer.is_global_zero:"
            )
            found.problems.append(
                f"rank {rank} wrote {', '.join(again[:4])} too: every process writes the same "
                f"file, at once (write it on rank zero only: {saver})"
            )
    console.say(f"{title} (ddp, gloo):")
    for line in found.details:
        console.say(f"  {line}")
    for problem in found.problems:
        console.say(f"  ! {problem}")
    if found.equivalent and reference.get("evaluations"):
        console.say(f"  the same on {n} processes: printed once, metrics reduced")
    elif found.equivalent:
        console.say(f"  the same on {n} processes: no file written twice")
    return {
        "verdict": "equivalent" if found.equivalent else "diverged",
        "processes": n,
        "evaluations": found.calls,
        "problems": found.problems,
        "message": found.problems[0] if found.problems else "the same",
    }


USES = "Lightning uses of the conversion (--lightning-uses)"


def _uses_run(converted: Path, root: Path, shared, opts) -> Run | None:
    """``--lightning-uses``: one more run of the conversion, used as a Lightning user would (see
    use_hooks.py); it runs beside the pair, and its failure stops neither of them."""
    if _runs_fabric(converted):
        return None
    forced = {"num_sanity_val_steps": 2, "check_val_every_n_epoch": 2}
    if opts["max_steps"]:  # Lightning's own stop: the uses after fit still run
        forced["max_steps"] = opts["max_steps"]
    run = Run.in_folder(
        "uses", converted, root, shared, options=["--lightning-uses", *_trainer(**forced)]
    )
    run.independent = True
    if not shared:
        shutil.rmtree(run.cwd, ignore_errors=True)
    return run


def _judge_uses(run: Run, opts: dict, console, unseen_after_fit: Path | None) -> dict:
    """``unseen_after_fit``: the original, where --max-steps stopped it before any code after
    its training ran: an error of the script's own code after fit (a line the conversion left
    as it was) is then no evidence against the conversion, only unknown."""
    if opts["verbose"]:
        _show_logs(run, console)
    trace = compare.load(str(run.trace)) if run.trace.exists() else {}
    error = run.error()
    if error and not run.timed_out:
        error = run.last_error_line() or error
        own = _failing_line(run) if unseen_after_fit else None
        if own is not None and own[1] in _lines_of(unseen_after_fit):
            error = uses.Unseen(error, *own)
    found = uses.judge(trace, error, timed_out=run.timed_out)
    console.say(f"{USES}:")
    console.say("\n".join(found.details()))
    return {
        "checks": [{"status": s, "check": c, "detail": d} for s, c, d in found.rows],
        "problems": found.problems,
    }


def _failing_line(run: Run) -> tuple[int, str] | None:
    """(line, its text) of the script's last frame in the run's traceback."""
    text = runs.tail(run.stderr, n=10**9)
    frames = re.findall(rf'File "{re.escape(str(run.script))}", line (\d+)', text)
    if not frames:
        return None
    number = int(frames[-1])
    lines = _lines_of(run.script)
    return (number, lines[number - 1]) if 0 < number <= len(lines) else None


def _lines_of(path: Path) -> list[str]:
    """The file's lines, stripped: a line of the original is found in its conversion however
    the conversion indents it."""
    return [line.strip() for line in path.read_text("utf-8", errors="replace").splitlines()]


def _rank(rank: int, port: str) -> dict[str, str]:
    """What `torchrun` would set for one process of a world on this machine."""
    return {
        "LOCAL_RANK": str(rank),
        "NODE_RANK": "0",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": port,
    }


def _runs_fabric(converted: Path) -> bool:
    """Whether the converted script is a Fabric one (it imports Lightning Fabric)."""
    try:
        text = converted.read_text("utf-8", errors="replace")
    except OSError:
        return False
    return (
        re.search(r"^\s*(from|import)\s+(lightning\.fabric|lightning_fabric)\b", text, re.M)
        is not None
    )


def _execute(groups: list[list[Run]], args, options, paths, env, timeout: float, near=()) -> None:
    """Start each group's runs together, the groups one after the other; stop at a failure.
    ``near``: what sits beside the script, copied into each run's fresh folder (beside.py)."""
    try:
        for group in groups:
            ran = [r for g in groups for r in g if r.proc is not None and not r.independent]
            if any(r.error() for r in ran):
                for run in group:
                    run.cancelled = True
                continue
            for run in group:
                beside.copy(near, run.cwd)
                runs.start(run, args, options, paths[run.script], env)
            runs.wait(group, time.monotonic() + timeout if timeout else None)
    finally:
        for group in groups:
            for run in group:
                runs.kill(run)


def _show_logs(run: Run, console: Console) -> None:
    for stream, path in (("stdout", run.stdout), ("stderr", run.stderr)):
        text = runs.tail(path, n=10**9)
        if text.strip():
            console.say(f"----- {run.name} script {stream} ({run.script.name}) -----")
            console.say(text)


def _no_gpu(pair: list[Run], console: Console) -> bool:
    for run in pair:
        if run.trace.exists() and compare.load(str(run.trace))["status"] == "no-gpu":
            console.warn(compare.load(str(run.trace))["error"] + ": nothing to compare.")
            return True
    return False


#: An error of the original's that one of verify's shims removes -> (the option, what it does).
_SHIMS = {
    "Found no NVIDIA driver": ("cuda_on_cpu", "--cuda-on-cpu runs a script's .cuda() on the CPU"),
    "Torch not compiled with CUDA": ("cuda_on_cpu", "--cuda-on-cpu runs .cuda() on the CPU"),
    "No CUDA GPUs are available": ("cuda_on_cpu", "--cuda-on-cpu runs .cuda() on the CPU"),
    "object has no attribute 'next'": ("old_torch_api", "--old-torch-api restores .next()"),
    "invalid index of a 0-dim tensor": ("old_torch_api", "--old-torch-api restores loss.data[0]"),
    "Weights only load failed": ("old_torch_api", "--old-torch-api loads any pickle"),
    "unexpected keyword argument 'verbose'": ("old_torch_api", "--old-torch-api takes verbose="),
    "has no attribute 'Scale'": ("old_torch_api", "--old-torch-api restores transforms.Scale"),
    "Using a target size": ("old_torch_api", "--old-torch-api restores BCE's old target shapes"),
    "removed in the NumPy 2.0 release": ("old_torch_api", "--old-torch-api restores np.Inf & co"),
    "was a deprecated alias for the builtin": ("old_torch_api", "--old-torch-api restores it"),
    "must be a positive integer, not": ("old_torch_api", "--old-torch-api takes a 10.0 grid"),
}


def _last_line(error: str | None) -> str | None:
    lines = (error or "").strip().splitlines()
    return lines[-1] if lines else None


def _fits(weights: Path) -> int:
    """How many fits the training run saved the weights of (weights.pt, weights.pt.fit1...)."""
    numbered = re.compile(re.escape(weights.name) + r"\.fit\d+")
    return 1 + sum(1 for p in weights.parent.iterdir() if numbered.fullmatch(p.name))


def _report_failures(group: list[Run], shared: bool, console: Console, opts: dict) -> bool:
    """Say which runs could not run and why (their stderr's tail); True if any."""
    failed = [(run, run.error()) for run in group if not run.cancelled and run.error()]
    for run, why in failed:
        console.warn(f"could not run the {run.name} script {run.script}: {why}")
        text = runs.tail(run.stderr)
        if text:
            console.warn(f"----- last lines of its stderr -----\n{text}\n-----")
        if not shared and ("FileNotFoundError" in text or "No such file" in text):
            console.warn(
                "hint: each script runs in its own fresh working directory; pass absolute "
                "paths after --, or use --cwd DIR."
            )
        for error, (option, does) in _SHIMS.items():
            if error in text and not opts[option]:
                console.warn(f"hint: {does}, in both runs (see verify --help).")
                break
    if failed:
        for run in group:
            if run.cancelled:
                console.warn(f"(the {run.name} run was stopped: nothing to compare)")
    return bool(failed)


def _number(x: float) -> float | str:
    return x if math.isfinite(x) else repr(x)


def _run_summary(run: Run) -> dict:
    error = run.error()
    status = "ok" if error is None else "failed"
    if run.timed_out or run.cancelled:
        status = "timed out" if run.timed_out else "cancelled"
    return {
        "status": status,
        "seconds": round(run.seconds, 2),
        "error": None if status in ("ok", "cancelled") else run.last_error_line(),
    }


def _record(result: dict, c: compare.Comparison, lines, left: outcome.Outcome) -> None:
    result["losses"] = {
        "compared": min(len(c.original), len(c.converted)),
        "original": len(c.original),
        "lightning": len(c.converted),
        "max_difference": _number(c.max_loss_diff),
        "max_relative_difference": _number(c.max_loss_relative),
        "first_difference_step": None if c.first_diff is None else c.first_diff + 1,
    }
    result["steps"] = {"original": c.steps[0], "lightning": c.steps[1]}
    w = c.weights
    result["weights"] = {
        "tensors": w.tensors,
        "values": w.values,
        "max_difference": _number(w.max_diff),
        "differing": w.differing,
        "mismatch": w.mismatch,
    }
    if lines is not None:
        result["printed"] = {
            "original": len(lines.original),
            "lightning": len(lines.converted),
            "compared": lines.compared,
            "first_difference_line": None if lines.first_diff is None else lines.first_diff + 1,
            "varying_lines": sorted(i + 1 for i in lines.varying),
        }
    result["outcome"] = {
        "compared": left.compared,
        "modules": left.modules,
        "tensors": left.tensors,
        "buffers": left.buffers,
        "gradients": left.gradients,
        "submodules": left.submodules,
        "optimizers": left.optimizers,
        "files": left.files,
        "differences": list(left.problems.values()),
        "varying": left.varying,
    }
