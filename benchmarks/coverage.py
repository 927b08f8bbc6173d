"""Real-world coverage: convert and verify every ``.py`` file of a folder, and tabulate the fates.

    python benchmarks/coverage.py PATH [--jobs N] [--max-steps 20] [--timeout S]
        [--config FILE] [--originals] [--target T] [--fallback fabric]
        [--markdown OUT] [--json OUT] [--keep]

For each file (found recursively under PATH, skipping hidden folders and caches):

1. ``python -m converter convert --check --json -v FILE`` says whether the converter converts
   it, declines it (and why, where), finds no training loop in it, cannot parse it, or crashes.
2. Each converted file is then trained side by side with its conversion:
   ``python -m converter verify FILE --fake-data --max-steps N --timeout S --work-dir W``
   (exit 0 equivalent, 1 diverged, 2 could not run).
   When verify could not run a script, the failing run decides the category: the original
   failing (old PyTorch API, CUDA only, absent data files, network, missing packages) makes the
   file *unverifiable here*; the conversion failing while the original ran is a converter bug.
   When only the conversion was seen failing (the original was stopped before it could finish),
   ``verify FILE --against FILE`` runs the original on its own to tell the two apart.

``--config FILE`` (see :mod:`corpus_config`, one file per collection under
``benchmarks/corpora/``) says how a collection's originals can run here: script arguments, extra
environment, the folder they run in and stand-in files for data the repository lacks. It never
edits a script. ``--originals`` also runs each declined file's original on its own (the same
way), so the table says which declined files would be verifiable once converted.

``--target`` and ``--fallback`` are passed to both ``convert`` and ``verify``: ``--fallback fabric``
measures what the Trainer conversion declines and Lightning Fabric then converts; such files are
marked "[Fabric]" in the table and counted apart in the summary.

Everything runs through the command line in subprocesses (``sys.executable -m converter``), so a
crash or a hang on one file never stops the others; ``--jobs`` files are handled at once (each
verify itself runs two training processes), each verify in a temporary work folder of its own.
Prints a table (one line per file; files without a training loop collapse into one line) and a
summary; ``--markdown`` writes the same as Markdown, ``--json`` every detail.
"""

from __future__ import annotations

import argparse
import json
import keyword
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import corpus_config
import standins

REPO = Path(__file__).resolve().parents[1]

# Categories, in the order the table and the summary list them.
VERIFIED = "verified"
DIVERGES = "diverges"
BROKEN = "broken"
UNVERIFIABLE = "unverifiable"
DECLINED = "declined"
WITH_SCRIPT = "with-script"
CRASHED = "crashed"
UNPARSED = "unparsed"
NO_LOOP = "no-loop"
CATEGORIES = (
    VERIFIED,
    DIVERGES,
    BROKEN,
    UNVERIFIABLE,
    WITH_SCRIPT,
    DECLINED,
    CRASHED,
    UNPARSED,
    NO_LOOP,
)
LABELS = {
    VERIFIED: "converted and verified",
    DIVERGES: "converted but diverges",
    BROKEN: "converted, the conversion fails to run (the original runs)",
    UNVERIFIABLE: "converted, unverifiable",
    WITH_SCRIPT: "a module: its training function is converted with the script that imports it",
    DECLINED: "declined",
    CRASHED: "crashed (converter exception)",
    UNPARSED: "cannot parse (not Python 3 syntax, or not text)",
    NO_LOOP: "no training loop",
}
SHORT = {
    VERIFIED: "verified",
    DIVERGES: "diverges",
    BROKEN: "conversion fails to run",
    UNVERIFIABLE: "unverifiable",
    WITH_SCRIPT: "converted with their scripts",
    DECLINED: "declined",
    CRASHED: "crashed",
    UNPARSED: "cannot parse",
    NO_LOOP: "without a training loop",
}
BUGS = (DIVERGES, BROKEN, CRASHED)

SKIP_DIRS = frozenset({"__pycache__", "site-packages", "node_modules", "venv", "build", "dist"})
CONVERT_TIMEOUT = 180.0  # seconds for one `convert --check` (a hang is reported as a crash)
GRACE = 120.0  # on top of --timeout for one verify: start-up, conversion, comparison


@dataclass
class FileResult:
    path: str  # relative to PATH
    category: str = ""
    detail: str = ""  # one line for the table
    line: int | None = None  # the declined construct's line
    declined: list[dict] = field(default_factory=list)  # every declined entry (line, message)
    partial: int = 0  # constructs left unconverted in a converted file
    verify_rc: int | None = None
    settings: dict = field(default_factory=dict)  # what --config applied (args, env, stand-ins)
    original: str = ""  # --originals, declined files: "runs" or why it does not
    fabric: bool = False  # converted to Lightning Fabric (--target fabric, or the fallback)
    copied_from: list[str] = field(default_factory=list)  # modules whose functions it copied in
    seconds: float = 0.0
    log: str = ""  # verify's / convert's own output, kept for the bug categories and --json
    uses: str = ""  # --lightning-uses: "pass", or "fails: " and the first failing use


# --- running the command line ------------------------------------------------------------------

_live: set[subprocess.Popen] = set()
_live_lock = threading.Lock()


def _cli(
    args: list[str], cwd: Path, timeout: float, env_extra: dict | None = None
) -> tuple[int | None, str, str]:
    """Run ``python -m converter ARGS``; (exit status or None on timeout, stdout, stderr).

    A late process gets SIGINT first (verify then stops its training runs and cleans up), then
    SIGKILL. Each command runs in a session of its own so it can be stopped with what it started.
    """
    cmd = [sys.executable, "-m", "converter", *args]
    env = dict(os.environ, NO_COLOR="1", PYTHONUNBUFFERED="1")
    env.setdefault("MPLBACKEND", "Agg")  # headless: plt.show() returns at once
    env.update(env_extra or {})
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=os.name == "posix",
    )
    with _live_lock:
        _live.add(proc)
    try:
        try:
            out, err = proc.communicate(timeout=timeout)
            return proc.returncode, out, err
        except subprocess.TimeoutExpired:
            _stop(proc)
            out, err = proc.communicate()
            return None, out, err
    finally:
        with _live_lock:
            _live.discard(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    if proc.poll() is None:
        try:
            if os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except ProcessLookupError:
            pass
        proc.wait()


def _stop_all() -> None:
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        _stop(proc)


# --- step 1: convert ---------------------------------------------------------------------------


def _target_options(opts: argparse.Namespace) -> list[str]:
    found = ["--target", opts.target] if getattr(opts, "target", None) else []
    return found + (["--fallback", opts.fallback] if getattr(opts, "fallback", None) else [])


def _ignored_lines(opts: argparse.Namespace) -> list[str]:
    return [
        a
        for pattern in getattr(opts, "ignore_line", None) or ()
        for a in ("--ignore-line", pattern)
    ]


def _convert(res: FileResult, script: Path, tmp: Path, job_opts: argparse.Namespace) -> bool:
    """Fill ``res`` from ``convert --check --json``; True when the file converts."""
    command = ["convert", "--check", "--json", "-v", *_target_options(job_opts), str(script)]
    rc, out, err = _cli(command, tmp, CONVERT_TIMEOUT)
    if rc is None:
        res.category, res.detail = CRASHED, f"the converter did not finish in {CONVERT_TIMEOUT} s"
        return False
    try:
        entry = json.loads(out)["files"][0]
    except (ValueError, KeyError, IndexError):
        res.category = CRASHED
        res.detail = f"convert exited {rc} without a JSON report: {_last_line(err)}"
        res.log = err
        return False
    status, message = entry["status"], entry.get("message") or ""
    res.declined = [{"line": d["line"], "message": d["message"]} for d in entry["declined"]]
    if status == "error":
        if "internal error" in message:
            res.category, res.log = CRASHED, err
            res.detail = message.split(": ", 1)[-1]
        else:  # cannot parse / decode / not Python
            res.category, res.detail = UNPARSED, message.split(": ", 1)[-1]
        return False
    if status == "converted":
        res.partial = len(res.declined)
        res.copied_from = _copied_from(entry["changed"], script)
        res.fabric = getattr(job_opts, "target", None) == "fabric" or any(
            c["kind"] == "fallback" for c in entry["changed"]
        )
        return True
    if entry.get("skipped") or _no_loop(res.declined):
        res.category, res.detail = NO_LOOP, message
        return False
    res.category = DECLINED
    if res.declined:
        first = res.declined[0]
        res.line, res.detail = first["line"], first["message"]
        if len(res.declined) > 1:
            res.detail += f" (and {len(res.declined) - 1} more)"
    else:
        res.detail = message or "nothing to convert (no reason given)"
    return False


_COPIED_IN = re.compile(r"^\w+\(\) of (.+?) \(line \d+\) is copied in")


def _copied_from(changed: list[dict], script: Path) -> list[str]:
    """The modules (paths as the script's folder sees them) whose functions the conversion
    copied in (converter/siblings.py)."""
    found = (_COPIED_IN.match(c["message"]) for c in changed if c["kind"] == "copied-in")
    return [str((script.parent / m.group(1)).resolve()) for m in found if m]


def with_their_scripts(results: list[FileResult], root: Path) -> None:
    """A module declined on its own ("never called in this file") whose training functions a
    converted script of the same run copied in is converted with that script: say so."""
    users: dict[str, list[FileResult]] = {}
    for res in results:
        for module in map(Path, dict.fromkeys(res.copied_from)):
            if module.is_relative_to(root.resolve()):
                users.setdefault(module.relative_to(root.resolve()).as_posix(), []).append(res)
    for res in results:
        if res.category == DECLINED and res.path in users:
            first = users[res.path][0]
            res.category = WITH_SCRIPT
            more = len(users[res.path]) - 1
            res.detail = f"converted with {first.path} ({SHORT[first.category]})" + (
                f" and {more} more" if more else ""
            )


def _no_loop(declined: list[dict]) -> bool:
    return len(declined) == 1 and declined[0]["message"].startswith("no training loop")


# --- step 2: verify ----------------------------------------------------------------------------

_COULD_NOT_RUN = re.compile(r"could not run the (original|lightning) script .*?: (.*)$", re.M)


@dataclass
class Job:
    """One file's verification: where it is, and how --config says it runs."""

    script: Path
    root: Path  # the collection (PATH)
    tmp: Path  # this file's temporary folder
    opts: argparse.Namespace
    settings: corpus_config.Settings

    def env(self, run: Path | None) -> dict[str, str]:
        return {k: corpus_config.expand(v, run, self.root) for k, v in self.settings.env.items()}

    def args(self, run: Path | None) -> list[str]:
        return [corpus_config.expand(a, run, self.root) for a in self.settings.args]


def _verify(res: FileResult, job: Job) -> None:
    if job.settings.prepared:  # the config says where it runs, and what it finds there
        try:
            cwd = prepare(job, job.tmp / "run")
        except (OSError, standins.StandInError) as exc:
            res.category = UNVERIFIABLE
            res.detail = f"original does not run here: a stand-in could not be made ({exc})"
            return
        _verify_once(res, job, cwd)
        return
    _verify_once(res, job, None)
    if res.category == UNVERIFIABLE and "needs data files" in res.detail:
        # Scripts often expect to run in their own folder (pytorch/examples vae writes into the
        # `results/` folder it ships with): try again in a copy of that folder, so nothing is
        # written next to the original.
        try:
            copy = prepare(job, job.tmp / "c", folder_only=True)
        except OSError:
            return
        first = res.detail
        _verify_once(res, job, copy)
        if res.category == UNVERIFIABLE and "needs data files" in res.detail:
            res.detail = first
        else:
            res.detail += " (run in a copy of its folder)"


def prepare(job: Job, base: Path, folder_only: bool = False) -> Path:
    """A fresh run folder under ``base`` as the settings want it (a copy of the script's folder,
    or of the whole collection), stand-ins included; returns the folder the script runs in."""
    shutil.rmtree(base, ignore_errors=True)
    if job.settings.workdir == "tree" and not folder_only:
        _copy_folder(job.root, base / "tree")
        cwd = base / "tree" / job.script.parent.relative_to(job.root)
    else:  # two levels down, so that ../../data written by a script stays inside base
        cwd = base / "d" / "e" / job.script.parent.name
        _copy_folder(job.script.parent, cwd)
    if not folder_only:
        cfg = job.opts.config
        for name in job.settings.stand_ins:
            standins.build(cfg.stand_ins[name], cwd, base, job.root, job.script.parent)
    return cwd


def _copy_folder(src: Path, dest: Path, limit: int = 50 * 2**20) -> None:
    def ignore(folder: str, names: list[str]) -> list[str]:
        skip = []
        for n in names:
            p = Path(folder) / n
            if n.startswith(".") or n in SKIP_DIRS or (p.is_file() and p.stat().st_size > limit):
                skip.append(n)
        return skip

    shutil.copytree(src, dest, ignore=ignore, symlinks=True)


def _verify_once(res: FileResult, job: Job, cwd: Path | None) -> None:
    opts, tmp = job.opts, job.tmp
    tag = "w2" if cwd else "w1"
    work = tmp / "a" / tag / "work"  # scripts that write to ../../data stay inside tmp
    args = _verify_args(job, work, cwd=cwd)
    rc, out, err = _cli(args, tmp, _limit(opts, cwd), job.env(cwd))
    res.verify_rc = rc
    res.log = (out + ("\n" if out and err else "") + err).strip()
    res.uses = _uses(out)
    if rc is None:
        # verify's own --timeout should have fired first; treat like a run that was too slow
        res.category = UNVERIFIABLE
        res.detail = f"original does not run here: verify did not finish in {opts.timeout:g} s"
        return
    if rc == 0 or (rc == 1 and "\nA LIGHTNING USE FAILS: " in f"\n{out}"):
        res.category = VERIFIED  # trains identically; whether every use works is res.uses
        res.detail = _verified_detail(out)
        return
    verdict = next((ln for ln in out.splitlines() if ln.startswith("DIVERGED")), None)
    if rc == 1 and verdict:
        res.category, res.detail = DIVERGES, verdict
        return
    if rc != 2:  # verify itself raised (an uncaught exception exits 1 without a verdict)
        res.category = CRASHED
        res.detail = f"verify exited {rc}: {_last_line(err)}"
        return
    if "the converter failed on" in err:
        res.category = CRASHED
        res.detail = _last_line(err.split("the converter failed on", 1)[1])
        return
    if "the converter declined" in err:  # convert converted it, verify's conversion did not
        res.category, res.detail = CRASHED, "verify's conversion declined what convert converted"
        return
    failed = {m.group(1): m.group(2) for m in _COULD_NOT_RUN.finditer(err)}
    if "original" in failed:
        res.category = UNVERIFIABLE
        res.detail = "original does not run here: " + _why(work / "original.stderr.log", failed)
        return
    if "lightning" in failed:
        lightning_why = _why(work / "lightning.stderr.log", failed, "lightning")
        if "the original run was stopped" in err:
            # the original may have failed the same way, only later: run it on its own
            alone = original_alone(job, cwd is not None)
            if alone is not None:
                res.category = UNVERIFIABLE
                res.detail = f"original does not run here: {alone}"
                return
        res.category = BROKEN
        res.detail = f"the conversion fails: {lightning_why}"
        return
    if "neither script called backward()" in out:
        res.category = UNVERIFIABLE
        res.detail = "original does not run here: it never called backward() (nothing to compare)"
        return
    if "its training does not reproduce here" in res.log:  # verify's "not-reproducible"
        said = next(ln for ln in res.log.splitlines() if "does not reproduce here" in ln)
        why = said.split("(", 1)[-1].split(")", 1)[0]  # "at step 1: first run loss ..."
        res.category = UNVERIFIABLE
        res.detail = f"the original trains differently in a second run with the same seed: {why}"
        return
    res.category = CRASHED
    res.detail = f"verify exited 2 for no reason it stated: {_last_line(err)}"


def _limit(opts: argparse.Namespace, cwd: Path | None) -> float:
    """Seconds one verify may take: --timeout is per run, and with --cwd the two runs share the
    folder, so they run one after the other."""
    return opts.timeout * (2 if cwd is not None else 1) + GRACE


def _verify_args(job: Job, work: Path, against: bool = False, cwd=None) -> list[str]:
    opts, script = job.opts, job.script
    args = ["verify", str(script), "--fake-data", "--max-steps", str(opts.max_steps)]
    args += _target_options(opts) + _ignored_lines(opts)
    args += ["--timeout", str(opts.timeout), "--work-dir", str(work)]
    if against:
        args += ["--against", str(script)]
    if cwd is not None:
        args += ["--cwd", str(cwd)]
    for pattern in job.settings.ignore_lines:
        args += ["--ignore-line", pattern]
    if opts.old_torch_api:
        args.append("--old-torch-api")
    if opts.cuda_on_cpu:
        args.append("--cuda-on-cpu")
    if opts.lightning_uses:
        args.append("--lightning-uses")
    script_args = job.args(cwd)
    return args + (["--", *script_args] if script_args else [])


def original_alone(job: Job, in_folder: bool) -> str | None:
    """Run the original against itself, set up as for its verification (a fresh copy of the run
    folder when it ran in one); why it cannot run here, or None when it runs."""
    cwd = None
    if in_folder or job.settings.prepared:
        try:
            cwd = prepare(job, job.tmp / "alone-run", folder_only=not job.settings.prepared)
        except (OSError, standins.StandInError) as exc:
            return f"a stand-in could not be made ({exc})"
    work = job.tmp / "alone" / ("w2" if cwd else "w1") / "work"
    shutil.rmtree(work, ignore_errors=True)
    args = _verify_args(job, work, against=True, cwd=cwd)
    rc, out, err = _cli(args, job.tmp, _limit(job.opts, cwd), job.env(cwd))
    if rc is None:
        return f"did not finish in {job.opts.timeout:g} s"
    failed = {m.group(1): m.group(2) for m in _COULD_NOT_RUN.finditer(err)}
    if rc == 2 and failed:
        return _why(work / "original.stderr.log", failed)
    if rc == 2 and "neither script called backward()" in out:
        return "it never called backward()"
    return None


def _uses(out: str) -> str:
    """What verify --lightning-uses said: "pass", "fails: <the first failing use>", or ""."""
    if "Lightning uses of the conversion" not in out:
        return ""
    section = out.split("Lightning uses of the conversion", 1)[1].splitlines()[1:]
    rows = [line.strip() for line in section if line.startswith("  ")]
    failed = [row.removeprefix("FAIL").strip() for row in rows if row.startswith("FAIL")]
    return f"fails: {failed[0]}" if failed else "pass"


def _verified_detail(out: str) -> str:
    m = re.search(r"losses compared: (\d+).*?optimizer steps: original (\d+)", out)
    if not m:
        return "every loss and every final weight identical"
    return f"{m.group(1)} losses, {m.group(2)} steps, final weights identical"


# --- why a script cannot run -------------------------------------------------------------------

_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)|\w+Error)\b")


def _why(log: Path, failed: dict[str, str], name: str = "original") -> str:
    """A short reason from the failed run's logs (its exception), or verify's own words."""
    if "did not finish in time" in failed.get(name, ""):
        return "too slow: did not finish in the time allowed"

    def read(p: Path) -> str:
        try:
            return p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    stdout = log.with_name(log.name.replace(".stderr.", ".stdout."))
    return short_reason(read(log), read(stdout), name) or failed.get(name, "it failed")


def short_reason(stderr: str, stdout: str = "", run: str = "original") -> str:
    """Turn a failed run's output into a few words: what the script needs that is not here."""
    lines = [ln.rsplit("\r", 1)[-1].rstrip() for ln in stderr.splitlines()]
    lines = [ln for ln in lines if ln.strip()]
    exc = next((ln for ln in reversed(lines) if _EXC_LINE.match(ln)), "")
    usage = next((ln for ln in reversed(lines) if re.search(r"^\S+: error: ", ln)), "")
    text = "\n".join(lines[-40:])
    low = text.lower()
    exited = re.search(r"\[verify\] the script exited with (.*)", text)
    if exited and usage:
        return "needs command-line arguments (" + usage.split(": error: ", 1)[1] + ")"
    if exited:
        said = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
        quote = f' ("{_clip(said[-1], 80)}")' if said else ""
        return f"exits with {exited.group(1)} before training{quote}"
    if any(
        s in low
        for s in (
            "torch not compiled with cuda",
            "found no nvidia driver",
            "no cuda gpus are available",
            "cuda driver",
            "attempting to deserialize object on a cuda device",
            "nccl",
        )
    ):
        return "needs CUDA (" + _clip(exc, 60) + ")"
    if "invalid index of a 0-dim tensor" in low:
        return "old PyTorch API: `loss.data[0]` on a 0-dim tensor (use `.item()`)"
    if any(
        s in low
        for s in (
            "urlopen error",
            "urlerror",
            "connectionerror",
            "name or service not known",
            "temporary failure in name resolution",
            "network is unreachable",
            "max retries exceeded",
            "failed to establish a new connection",
            "gaierror",
            "nodename nor servname",
        )
    ):
        return "needs network (" + _clip(exc, 80) + ")"
    m = re.search(r"No module named '([^']+)'", text)
    if m:
        return f"needs a package that is not installed: `{m.group(1)}`"
    if exc.startswith(("FileNotFoundError", "OSError", "IsADirectoryError")) or (
        "dataset not found" in low
    ):
        return "needs data files that are absent: " + _clip(exc)
    if "num_samples=0" in exc:  # a folder dataset that globbed no file
        return "needs data files that are absent (its dataset is empty): " + _clip(exc, 80)
    if "modified by an inplace operation" in exc:
        return "fails on current PyTorch (in-place change of a tensor backward needs): " + _clip(
            exc, 60
        )
    if "has no attribute 'next'" in exc and "DataLoaderIter" in exc:
        return "old PyTorch API: `iter(loader).next()` (use `next(iter(loader))`)"
    if "sum of input lengths does not equal" in low:  # random_split(ds, [50000, 10000])
        return (
            "assumes the real data set's size (`random_split` lengths), and --fake-data has "
            "512 training items: " + _clip(exc, 60)
        )
    if "is invalid for input of size" in exc:  # x.reshape(batch_size, -1) on a short batch
        return (
            "likely assumes full batches, and --fake-data's last batch is partial "
            "(512 items): " + _clip(exc, 80)
        )
    if exc.startswith("NameError") and run == "original":
        return "the original has a bug of its own: " + _clip(exc)
    if exc.startswith("AttributeError") and re.search(r"module '(torch|torchvision)", exc):
        return "old PyTorch API: " + _clip(exc)
    return _clip(exc) if exc else ""


def _clip(s: str, n: int = 140) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return _clip(lines[-1]) if lines else "(no output)"


# --- one file ----------------------------------------------------------------------------------


def check(script: Path, root: Path, base: Path, index: int, opts) -> FileResult:
    res = FileResult(script.relative_to(root).as_posix())
    tmp = base / f"{index:04d}"
    tmp.mkdir(parents=True)
    job = Job(script, root, tmp, opts, opts.config.settings(res.path))
    start = time.monotonic()
    try:
        if _convert(res, script, tmp, opts):
            res.settings = job.settings.record()
            _verify(res, job)
        elif res.category == DECLINED and opts.originals:
            res.settings = job.settings.record()
            why = original_alone(job, in_folder=False)
            if why is not None and "needs data files" in why and not job.settings.prepared:
                if original_alone(job, in_folder=True) is None:  # as _verify retries
                    why = None
            res.original = "runs" if why is None else f"does not run here: {why}"
    finally:
        res.seconds = round(time.monotonic() - start, 1)
        if not opts.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if res.category not in BUGS:
        res.log = ""  # only the bugs need their logs
    return res


def discover(root: Path, notebooks: bool = False) -> list[Path]:
    """The `.py` files under ``root`` (and the `.ipynb` ones with ``notebooks``: convert and verify
    take them as they take scripts; hidden folders such as `.ipynb_checkpoints` are skipped)."""
    suffixes = (".py", ".ipynb") if notebooks else (".py",)
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
        found += [Path(folder) / f for f in files if f.endswith(suffixes)]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


# --- output ------------------------------------------------------------------------------------


def summary_line(results: list[FileResult]) -> str:
    counts = Counter(r.category for r in results)
    parts = [f"{counts[c]} {SHORT[c]}" for c in CATEGORIES if counts[c] or c in (VERIFIED,)]
    line = f"{len(results)} files: " + ", ".join(parts)
    fabric = [r for r in results if r.fabric]
    if fabric:
        fates = Counter(r.category for r in fabric)
        listed = ", ".join(f"{fates[c]} {SHORT[c]}" for c in CATEGORIES if fates[c])
        line += f" (of the converted, {len(fabric)} to Lightning Fabric: {listed})"
    checked = [r for r in results if r.uses]
    if checked:
        passing = sum(r.uses == "pass" for r in checked)
        line += f"; Lightning uses: {passing} of {len(checked)} checked conversions pass them all"
    return line


def _rows(results: list[FileResult]) -> list[tuple[str, str, str]]:
    rows = []
    order = {c: i for i, c in enumerate(CATEGORIES)}
    for r in sorted(results, key=lambda r: (order[r.category], r.path)):
        if r.category == NO_LOOP:
            continue
        detail = r.detail
        if r.category == DECLINED and r.line is not None:
            detail = f"line {r.line}: {detail}"
        if r.partial and r.category != DECLINED:
            detail += f" [{r.partial} construct(s) left unconverted]"
        if r.original:
            detail += f" [original {r.original}]"
        if r.fabric:
            detail = f"[Fabric] {detail}"
        if r.uses:
            detail += f" [Lightning uses: {r.uses}]"
        rows.append((r.path, LABELS[r.category], detail))
    return rows


def _no_loop_files(results: list[FileResult]) -> list[str]:
    return sorted(r.path for r in results if r.category == NO_LOOP)


def text_table(results: list[FileResult]) -> str:
    rows = _rows(results)
    w0 = max([len("file"), *(len(r[0]) for r in rows)])
    w1 = max([len("result"), *(len(r[1]) for r in rows)])
    out = [f"{'file':<{w0}}  {'result':<{w1}}  details", "-" * (w0 + w1 + 12)]
    out += [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    n = len(_no_loop_files(results))
    if n:
        out.append(
            f"{f'({n} files)':<{w0}}  {'no training loop':<{w1}}  {n} files without a "
            "training loop (not listed)"
        )
    reasons = decline_reasons(results).most_common(10)
    if reasons:
        out += ["", "most common decline reasons (files):"]
        out += [f"{n:>5}  {reason}" for reason, n in reasons]
    out += ["", summary_line(results)]
    return "\n".join(out)


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def markdown(results: list[FileResult], held_out: bool = False) -> str:
    if held_out:  # figures only: nobody tunes the converter on a held-out collection's files
        return held_out_markdown(results)
    out = ["| file | result | details |", "| --- | --- | --- |"]
    out += [f"| `{_md(a)}` | {_md(b)} | {_md(c)} |" for a, b, c in _rows(results)]
    no_loop = _no_loop_files(results)
    if no_loop:
        out.append(
            f"| ({len(no_loop)} files) | no training loop | "
            f"{len(no_loop)} files without a training loop |"
        )
    out += ["", f"**Summary:** {summary_line(results)}.", ""]
    if no_loop:
        out += [
            f"<details><summary>The {len(no_loop)} files without a training loop</summary>",
            "",
            ", ".join(f"`{p}`" for p in no_loop),
            "",
            "</details>",
            "",
        ]
    return "\n".join(out)


def held_out_markdown(results: list[FileResult]) -> str:
    counts = Counter(r.category for r in results)
    out = ["| result | files |", "| --- | ---: |"]
    out += [f"| {LABELS[c]} | {counts[c]} |" for c in CATEGORIES]
    out += ["", f"**Summary:** {summary_line(results)}.", ""]
    reasons = decline_reasons(results).most_common()
    if reasons:
        out += ["| declined files | reason |", "| ---: | --- |"]
        out += [f"| {n} | {_md(reason)} |" for reason, n in reasons]
        out.append("")
    runs = Counter(
        "runs" if r.original == "runs" else "does not run"
        for r in results
        if r.category == DECLINED and r.original
    )
    if runs:
        out += [
            f"Declined files whose original runs here: {runs['runs']}; "
            f"does not run: {runs['does not run']}.",
            "",
        ]
    return "\n".join(out)


def decline_reasons(results: list[FileResult]) -> Counter:
    """How many files each (normalized) decline reason stops, declined files only."""
    counts: Counter = Counter()
    for r in results:
        if r.category == DECLINED:
            counts.update({normalize(d["message"]) for d in r.declined})
    return counts


def normalize(message: str) -> str:
    """A decline message with its names taken out (Python keywords kept: `break`, `return`...),
    so equal reasons count together."""

    def name(m: re.Match) -> str:
        return m.group(0) if keyword.iskeyword(m.group(1)) else "`…`"

    return re.sub(r"`([^`]*)`", name, message)


# --- which converter -------------------------------------------------------------------------


def snapshot(rev: str, dest: Path) -> str:
    """Export commit ``rev`` of this repository to ``dest`` (importable: ``converter`` with its
    ``converter.templates``) and return the full commit id. The CLI subprocesses then import the
    converter from there (``PYTHONPATH``), not from the working tree other people are editing."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", rev + "^{commit}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "converter", "templates"],
        check=True,
        capture_output=True,
    ).stdout
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    shutil.copytree(dest / "templates", dest / "converter" / "templates")
    return commit


def use_converter_from(folder: Path) -> None:
    paths = [str(folder), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    where = subprocess.run(
        [sys.executable, "-c", "import converter; print(converter.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=folder,
    ).stdout.strip()
    if not where.startswith(str(folder)):
        raise SystemExit(f"the snapshot in {folder} is not the converter imported: {where}")


def working_tree_state() -> str:
    """``<commit>`` or ``<commit> + uncommitted changes``, for the record."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "converter", "templates"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes" if dirty else "")


# --- main --------------------------------------------------------------------------------------


def check_config(opts: argparse.Namespace, root: Path, scripts: list[Path]) -> int:
    """--check-config: what each file gets, rules that match nothing, stand-ins that fail."""
    cfg, problems = opts.config, 0
    rels = [s.relative_to(root).as_posix() for s in scripts]
    for i in cfg.unused_rules(rels):
        print(f"[[files]] #{i + 1} {cfg.files[i]['match']!r} matches no file", file=sys.stderr)
        problems += 1
    base = Path(tempfile.mkdtemp(prefix="torch2lightning-config-"))
    try:
        for n, (script, rel) in enumerate(zip(scripts, rels)):
            settings = cfg.settings(rel)
            if not settings.record():
                continue
            line = f"{rel}: {json.dumps(settings.record())}"
            if settings.stand_ins:
                job = Job(script, root, base / f"{n:04d}", opts, settings)
                try:
                    cwd = prepare(job, job.tmp / "run")
                    made = sum(1 for p in cwd.parents[0].parent.rglob("*") if p.is_file())
                    line += f" -> run folder ready ({made} files)"
                except (OSError, standins.StandInError) as exc:
                    line += f" -> FAILED: {exc}"
                    problems += 1
                shutil.rmtree(job.tmp, ignore_errors=True)
            print(line)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"{len(scripts)} files, {problems} problem(s)", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Convert and verify every .py file under PATH; tabulate the results.",
    )
    parser.add_argument("path", type=Path, metavar="PATH")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="files at once (default 2)")
    parser.add_argument("--max-steps", type=int, default=20, help="verify --max-steps (20)")
    parser.add_argument(
        "--old-torch-api",
        action="store_true",
        help="verify --old-torch-api: run PyTorch 0.3-era spellings (loss.data[0], .next())",
    )
    parser.add_argument(
        "--cuda-on-cpu",
        action="store_true",
        help="verify --cuda-on-cpu: run scripts that hard-code .cuda() on the CPU",
    )
    parser.add_argument(
        "--lightning-uses",
        action="store_true",
        help="verify --lightning-uses: also use each Trainer conversion as a Lightning user would",
    )
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds for each verify's runs (300)"
    )
    parser.add_argument("--markdown", type=Path, metavar="OUT", help="also write Markdown here")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write every result here")
    parser.add_argument(
        "--notebooks",
        action="store_true",
        help="measure the Jupyter notebooks (.ipynb) under PATH too",
    )
    parser.add_argument(
        "--at",
        metavar="REV",
        help="measure the converter as committed at REV (e.g. HEAD), not the working tree",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="how this collection's scripts run here: arguments, environment, stand-in data "
        "(benchmarks/corpora/*.toml; see corpus_config.py)",
    )
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="only check --config: which files each rule matches, and build every stand-in",
    )
    parser.add_argument(
        "--originals",
        action="store_true",
        help="also run each declined file's original on its own: does it run here?",
    )
    parser.add_argument(
        "--target",
        choices=("pytorch_lightning", "lightning", "fabric"),
        help="convert and verify with this --target",
    )
    parser.add_argument(
        "--fallback",
        choices=("fabric",),
        help="convert and verify with --fallback: Fabric where the Trainer conversion declines",
    )
    parser.add_argument(
        "--ignore-line",
        action="append",
        metavar="REGEX",
        help="passed to verify: printed lines a run cannot reproduce (timings); repeatable",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folders; say where")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    opts = parser.parse_args(argv)

    root = opts.path.resolve()
    if not root.is_dir():
        parser.error(f"{opts.path}: not a folder")
    try:
        opts.config = corpus_config.load(opts.config) if opts.config else corpus_config.Config()
    except corpus_config.ConfigError as exc:
        parser.error(str(exc))
    scripts = discover(root, opts.notebooks)
    if opts.check_config:
        return check_config(opts, root, scripts)
    base = Path(tempfile.mkdtemp(prefix="torch2lightning-coverage-"))
    if opts.at:
        converter = snapshot(opts.at, base / "converter-snapshot")
        use_converter_from(base / "converter-snapshot")
    else:
        converter = working_tree_state()
    started = time.monotonic()
    if not opts.quiet:
        print(f"torch2lightning at {converter}", file=sys.stderr)
    if not opts.quiet:
        print(f"{len(scripts)} Python files under {root}; {opts.jobs} at a time", file=sys.stderr)
    results: list[FileResult] = []
    pool = ThreadPoolExecutor(max_workers=max(1, opts.jobs))
    futures = {
        pool.submit(check, script, root, base / "files", i, opts): script
        for i, script in enumerate(scripts)
    }
    try:
        for done, fut in enumerate(as_completed(futures), 1):
            res = fut.result()
            results.append(res)
            if not opts.quiet:
                print(
                    f"[{done}/{len(scripts)}] {res.path}: {SHORT[res.category]} "
                    f"({res.seconds:.0f} s) {res.detail if res.category != NO_LOOP else ''}",
                    file=sys.stderr,
                )
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        _stop_all()
        print("interrupted", file=sys.stderr)
        return 130
    pool.shutdown()
    with_their_scripts(results, root)
    if opts.keep:
        print(f"work folders kept in {base}", file=sys.stderr)
    else:
        shutil.rmtree(base, ignore_errors=True)
    minutes = (time.monotonic() - started) / 60

    print(text_table(results))
    if opts.markdown:
        opts.markdown.write_text(markdown(results, opts.config.held_out), encoding="utf-8")
    if opts.json:
        doc = {
            "root": str(root),
            "config": str(opts.config.path) if opts.config.path else None,
            "collection": opts.config.collection,
            "converter": converter,
            "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
            "max_steps": opts.max_steps,
            "target": opts.target,
            "fallback": opts.fallback,
            "ignore_line": opts.ignore_line,
            "timeout": opts.timeout,
            "minutes": round(minutes, 1),
            "summary": {c: sum(r.category == c for r in results) for c in CATEGORIES},
            "decline_reasons": decline_reasons(results).most_common(),
            "files": [asdict(r) for r in sorted(results, key=lambda r: r.path)],
        }
        opts.json.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    if not opts.quiet:
        print(f"({minutes:.1f} minutes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
