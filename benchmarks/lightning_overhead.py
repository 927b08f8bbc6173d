"""What does the Lightning rewrite cost? Train each fixture and its conversion, compare wall time.

    python benchmarks/lightning_overhead.py [--reps 5] [--train 8000] [--test 2000]
        [--fixtures mnist_classifier autoencoder] [--variants] [--threads 1] [--json OUT]

The fixtures (fixtures/mnist_classifier.py for one epoch, fixtures/autoencoder.py for its own two)
are converted with ``converter.convert_source`` and both versions run, unedited, as separate
processes on a prepared MNIST root (``--train`` / ``--test`` images: the real MNIST test set from
../shared/data/mnist where it exists, synthetic MNIST-shaped images otherwise). Runs are
interleaved: every repetition runs every version of every fixture once, in a shuffled order (seeded
by the repetition's number), so a slow spell on the machine hits them all alike. Each run gets
a fresh working directory (Lightning's ``lightning_logs/`` and checkpoints start from nothing, as
for a user) and its output goes to a log file there (not a terminal).

Two times per run, medians over the repetitions, and their ratio converted / original:

* process: wall time of the whole process, interpreter start to exit, imports included (the
  Lightning version imports pytorch_lightning on top of torch and torchvision). Also its CPU
  time (user + system), which a busy machine disturbs less.
* training: from the start of training to the end of the script. In the plain script training
  starts at the first ``DataLoader.__iter__``; in the Lightning script at ``Trainer(...)``, so
  everything Lightning does around the loop (Trainer setup, model summary, logger, progress bar,
  checkpoint writes, teardown) counts as training. Dataset loading and model construction, alike
  in both, come before and are not counted; the save after training is counted in both. Measured
  inside the process by a small wrapper (this file, ``--child``) that runs the script with
  ``runpy`` after importing torch (and, for a Lightning script, pytorch_lightning: imports the
  script makes anyway), patching ``DataLoader.__iter__`` and ``Trainer.__init__`` to note times.

``--variants`` also runs edited copies of each conversion (edits of the generated Trainer call and
of the generated ``self.log``: no model summary, no checkpointing, no logger, a progress bar that
refreshes less often, ...) to find which Lightning default costs what. The converter is not
changed; only temporary copies are.

One CPU thread per run (``--threads``; OMP/MKL thread counts and ``torch.set_num_threads``), so
that two runs never fight over cores and the figures compare the work itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
TRAINER_CALL = "pl.Trainer("
SELF_LOG = '        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)\n'
PROGRESS_BAR = "pl.callbacks.TQDMProgressBar"
GOAL = 1.05  # converted / original


@dataclass(frozen=True)
class Variant:
    """An edit of the converted script: extra Trainer arguments, and whether to drop self.log."""

    name: str
    trainer_args: str = ""
    drop_self_log: bool = False
    note: str = ""

    def apply(self, code: str) -> str:
        if self.trainer_args:
            if code.count(TRAINER_CALL) != 1:
                raise SystemExit(f"variant {self.name}: expected one {TRAINER_CALL!r} call")
            code = code.replace(TRAINER_CALL, f"{TRAINER_CALL}{self.trainer_args}, ")
        if self.drop_self_log:
            if SELF_LOG not in code:
                raise SystemExit(f"variant {self.name}: no {SELF_LOG.strip()!r} line")
            code = code.replace(SELF_LOG, "")
        return code


ORIGINAL = "original"
CONVERTED = "converted"

VARIANTS = [
    Variant(CONVERTED, note="the conversion as generated"),
    Variant(
        "no_model_summary",
        "enable_model_summary=False",
        note="no layer table (and no FLOPs count) before training",
    ),
    Variant(
        "no_checkpointing",
        "enable_checkpointing=False",
        note="no .ckpt written at each epoch end",
    ),
    Variant("no_logger", "logger=False", note="no lightning_logs/ (CSV metrics, hparams.yaml)"),
    Variant("no_self_log", drop_self_log=True, note='without the generated self.log("train_loss")'),
    Variant(
        "progress_bar_refresh_10",
        f"callbacks=[{PROGRESS_BAR}(refresh_rate=10)]",
        note="progress bar redrawn every 10 batches instead of every batch",
    ),
    Variant(
        "no_progress_bar",
        "enable_progress_bar=False",
        note="no progress bar at all (changes what the user sees)",
    ),
    Variant(
        "all_off",
        "enable_model_summary=False, enable_checkpointing=False, logger=False, "
        "enable_progress_bar=False",
        drop_self_log=True,
        note="every optional extra off: Lightning's floor",
    ),
]


# -- the child: one script, timed from inside --------------------------------------------------


def child(out: str, script: str, args: list[str], threads: int) -> None:
    """Run ``script`` as ``__main__`` and write its training time to ``out`` (JSON)."""
    import runpy

    import torch
    from torch.utils.data import DataLoader

    torch.set_num_threads(threads)
    marks: dict[str, tuple[float, float]] = {}

    def now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    original_iter = DataLoader.__iter__

    def __iter__(self):
        marks.setdefault("first_iter", now())
        return original_iter(self)

    DataLoader.__iter__ = __iter__
    source = Path(script).read_text(encoding="utf-8")
    if "pytorch_lightning" in source:
        import pytorch_lightning

        trainer_cls = pytorch_lightning.Trainer
        original_init = trainer_cls.__init__

        def __init__(self, *a, **kw):
            marks.setdefault("trainer", now())
            return original_init(self, *a, **kw)

        trainer_cls.__init__ = __init__
    sys.argv = [script, *args]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")
    end = now()
    start = marks.get("trainer") or marks.get("first_iter")
    if start is None:
        raise SystemExit(f"{script}: never iterated a DataLoader")
    sys.stdout.flush()
    result = {
        "training_wall": end[0] - start[0],
        "training_cpu": end[1] - start[1],
        "start": "Trainer()" if "trainer" in marks else "first DataLoader.__iter__",
    }
    Path(out).write_text(json.dumps(result), encoding="utf-8")


# -- the parent ----------------------------------------------------------------------------------


@dataclass
class Sample:
    process_wall: float
    process_cpu: float
    training_wall: float
    training_cpu: float


@dataclass
class Version:
    fixture: str
    name: str
    script: Path
    args: list[str]
    samples: list[Sample] = field(default_factory=list)

    def median(self, what: str) -> float:
        return statistics.median(getattr(s, what) for s in self.samples)


def prepare_data(root: Path, n_train: int, n_test: int) -> str:
    sys.path.insert(0, str(REPO))
    from tests.support.mnist import make_mnist_root

    return make_mnist_root(root, n_train=n_train, n_test=n_test)


def convert(fixture: str, out_dir: Path) -> str:
    from converter import convert_source

    source = (FIXTURES / f"{fixture}.py").read_text(encoding="utf-8")
    result = convert_source(source, filename=f"{fixture}.py")
    if not result.changed:
        raise SystemExit(f"the converter declined {fixture}.py:\n{result.report.text()}")
    return result.code


def run_once(version: Version, work: Path, env: dict, threads: int) -> Sample:
    work.mkdir(parents=True, exist_ok=True)
    cwd = Path(tempfile.mkdtemp(prefix=f"{version.fixture}-{version.name}-", dir=work))
    timing = cwd / "timing.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(timing)]
    cmd += ["--threads", str(threads), "--", str(version.script), *version.args]
    log = cwd / "output.log"
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # its resource usage: the CPU time
        except BaseException:  # interrupted: do not leave the run behind
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{version.fixture} {version.name} failed ({proc.returncode}):\n{tail}")
    inner = json.loads(timing.read_text())
    shutil.rmtree(cwd, ignore_errors=True)
    return Sample(
        wall, usage.ru_utime + usage.ru_stime, inner["training_wall"], inner["training_cpu"]
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        cut = argv.index("--")
        threads = int(argv[argv.index("--threads") + 1]) if "--threads" in argv[:cut] else 1
        child(argv[1], argv[cut + 1], argv[cut + 2 :], threads)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions (default 5)")
    parser.add_argument("--train", type=int, default=8000, help="training images (default 8000)")
    parser.add_argument("--test", type=int, default=2000, help="test images (default 2000)")
    parser.add_argument(
        "--fixtures", nargs="+", default=["mnist_classifier", "autoencoder"], metavar="NAME"
    )
    parser.add_argument("--epochs", type=int, default=1, help="classifier epochs (default 1)")
    parser.add_argument(
        "--variants",
        nargs="*",
        metavar="NAME",
        help="also time edited copies of the conversion (all when no name is given): "
        + ", ".join(v.name for v in VARIANTS[1:]),
    )
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per run (default 1)")
    parser.add_argument("--json", type=Path, help="write every sample here")
    parser.add_argument("--keep", type=Path, help="keep the scripts and data in this folder")
    parser.add_argument("--report", type=Path, metavar="JSON", help="only print a --json's report")
    opts = parser.parse_args(argv)
    if opts.report:
        report_json(opts.report)
        return 0

    chosen = [VARIANTS[0]]
    if opts.variants is not None:
        wanted = set(opts.variants) or {v.name for v in VARIANTS}
        unknown = wanted - {v.name for v in VARIANTS}
        if unknown:
            parser.error(f"unknown variant(s): {', '.join(sorted(unknown))}")
        chosen += [v for v in VARIANTS[1:] if v.name in wanted]

    work = opts.keep or Path(tempfile.mkdtemp(prefix="lightning-overhead-"))
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    data = work / "mnist"
    kind = prepare_data(data, opts.train, opts.test)
    env = dict(os.environ, MNIST_DIR=str(data), PYTHONHASHSEED="0", CUDA_VISIBLE_DEVICES="")
    env.update(OMP_NUM_THREADS=str(opts.threads), MKL_NUM_THREADS=str(opts.threads))

    versions: list[Version] = []
    for fixture in opts.fixtures:
        args = ["--epochs", str(opts.epochs), "--data-dir", str(data)]
        args = args if fixture == "mnist_classifier" else []
        folder = work / "scripts" / fixture
        folder.mkdir(parents=True, exist_ok=True)
        plain = folder / f"{fixture}.py"
        shutil.copyfile(FIXTURES / f"{fixture}.py", plain)
        versions.append(Version(fixture, ORIGINAL, plain, args))
        converted = convert(fixture, folder)
        for variant in chosen:
            path = folder / variant.name / f"{fixture}.py"  # same file name as the original
            path.parent.mkdir(exist_ok=True)
            path.write_text(variant.apply(converted), encoding="utf-8")
            versions.append(Version(fixture, variant.name, path, args))

    setup = (
        f"{len(versions)} scripts x {opts.reps} repetitions; MNIST root: {opts.train} train / "
        f"{opts.test} test {kind} images; {opts.threads} thread(s) per run; python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs"
    )
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(setup, flush=True)
    for rep in range(opts.reps):
        order = list(versions)
        random.Random(rep).shuffle(order)
        for version in order:
            sample = run_once(version, work / "runs", env, opts.threads)
            version.samples.append(sample)
            print(
                f"  rep {rep + 1}/{opts.reps} {version.fixture:16} {version.name:24} "
                f"process {sample.process_wall:6.2f} s (cpu {sample.process_cpu:6.2f} s)  "
                f"training {sample.training_wall:6.2f} s (cpu {sample.training_cpu:6.2f} s)",
                flush=True,
            )

    load_after = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average before: {load_before}, after: {load_after}")
    report(versions, chosen)
    if opts.json:
        dump = {
            "setup": f"{setup}; load average before {load_before}, after {load_after}",
            "versions": [
                {
                    "fixture": v.fixture,
                    "version": v.name,
                    "samples": [s.__dict__ for s in v.samples],
                }
                for v in versions
            ],
        }
        opts.json.write_text(json.dumps(dump, indent=1), encoding="utf-8")
    if not opts.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


METRICS = {
    "process_wall": "process wall",
    "process_cpu": "process cpu",
    "training_wall": "training wall",
    "training_cpu": "training cpu",
}


def report(versions: list[Version], variants: list[Variant]) -> None:
    fixtures = list(dict.fromkeys(v.fixture for v in versions))
    by = {(v.fixture, v.name): v for v in versions}
    print(
        "\nmedian seconds over the repetitions (and, for a conversion, its median / the original's)"
    )
    head = f"{'fixture':16} {'version':24}" + "".join(f" {m:>20}" for m in METRICS.values())
    print(head)
    print("-" * len(head))
    for fixture in fixtures:
        base = by[(fixture, ORIGINAL)]
        for name in [ORIGINAL, *(v.name for v in variants)]:
            v = by[(fixture, name)]
            cells = []
            for what in METRICS:
                ratio = "" if name == ORIGINAL else f"({v.median(what) / base.median(what):.3f})"
                cells.append(f"{v.median(what):10.2f} {ratio:>9}")
            print(f"{fixture:16} {name:24} {' '.join(cells)}")
    if len(fixtures) > 1:
        print("\nall fixtures together (sum of their medians), converted / original:")
        for name in (v.name for v in variants):
            ratios = []
            for what, label in METRICS.items():
                num = sum(by[(f, name)].median(what) for f in fixtures)
                den = sum(by[(f, ORIGINAL)].median(what) for f in fixtures)
                ratios.append(f"{label} {num / den:.3f}")
            print(f"  {name:24} {'  '.join(ratios)}")
    print(f"\ngoal: the conversion (as generated) at most {GOAL} x the original's time")
    for fixture in fixtures:
        conv, base = by[(fixture, CONVERTED)], by[(fixture, ORIGINAL)]
        verdicts = []
        for what in ("process_wall", "training_wall"):
            ratio = conv.median(what) / base.median(what)
            verdicts.append(
                f"{METRICS[what]} {ratio:.3f} ({'met' if ratio <= GOAL else 'not met'})"
            )
        print(f"  {fixture:16} {'   '.join(verdicts)}")
    print("\nversions:")
    for v in variants:
        edit = []
        if v.trainer_args:
            edit.append(f"Trainer({v.trainer_args}, ...)")
        if v.drop_self_log:
            edit.append("no self.log")
        print(f"  {v.name:24} {v.note}{': ' + '; '.join(edit) if edit else ''}")


def report_json(path: Path) -> None:
    """Print the report again from a ``--json`` file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    print(data["setup"])
    versions = [
        Version(v["fixture"], v["version"], Path(), [], [Sample(**s) for s in v["samples"]])
        for v in data["versions"]
    ]
    known = {v.name: v for v in VARIANTS}
    names = dict.fromkeys(v.name for v in versions if v.name != ORIGINAL)
    report(versions, [known.get(n, Variant(n)) for n in names])


if __name__ == "__main__":
    sys.exit(main())
