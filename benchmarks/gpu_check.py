"""Train every golden case and both fixtures next to their conversions on a GPU, compare losses.

    python benchmarks/gpu_check.py [--jobs 8] [--max-steps 20] [--budget 300]
        [--json gpu_check.json] [--markdown gpu_check.md] [--cases a,b] [--accelerator gpu]

Each pair runs through ``torch2lightning verify ORIGINAL --against CONVERTED --fake-data
--max-steps N --accelerator gpu --json`` (no conversion: LibCST is not needed), with the same
script arguments and environment as tests/test_golden_training.py: the golden cases
``tests/golden/<case>.in.py`` against their committed ``<case>.out.py``, the Fabric ones
(``tests/golden_fabric``, named ``fabric:<case>``) likewise, and the fixtures
``fixtures/<name>.py`` against ``fixtures/converted/<name>.py``. In GPU mode the originals pick
their device themselves (CUDA when they look for it, the CPU when they do not: the table says
where each trained), the conversions run on the GPU, and values agree within verify's GPU
tolerance (1e-5, relative above 1).

``--jobs`` pairs run at once (each is two processes of one CPU thread; 8 suits a 16-core
machine); ``--budget`` seconds bound the whole check: a pair still running then is stopped and
one not yet started is skipped, both reported. Nothing is downloaded. Prints a table (case, ran or
crashed, steps compared, largest relative loss difference, where each trained, verdict, and a
crash's last error line) and writes it as JSON and Markdown. A pair whose original trained on the
CPU (it never asks for CUDA) while its conversion trained on the GPU, and that differs, is
reported NOT COMPARABLE: CPU and CUDA draw different random numbers. Exit status 0 when every pair
is equivalent or not comparable, 1 otherwise (diverged, crashed, timed out, skipped).

``--accelerator cpu`` runs the same check on the CPU (bit-identical): how CI tests this script.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden"
GOLDEN_FABRIC = REPO / "tests" / "golden_fabric"
FIXTURES = REPO / "fixtures"
FIXTURE_ARGS = {"mnist_classifier": ["--epochs", "1"]}
#: An original that never asks for CUDA trains on the CPU while its conversion trains on the GPU:
#: random draws (dropout, randn) come from different generators and float sums round differently,
#: so a difference there does not show a wrong conversion (the CPU check in CI does that).
CROSS_DEVICE = "original trained on the CPU, conversion on the GPU: not comparable"
#: Verdicts that do not fail the check.
PASSING = ("EQUIVALENT", "NOT COMPARABLE")


@dataclass
class Case:
    name: str
    original: Path
    converted: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    case: str
    ran: str  # "ran", "crashed", "timed out", "skipped", "no GPU", "error"
    verdict: str  # EQUIVALENT, DIVERGED, CRASHED, TIMEOUT, SKIPPED, NO GPU, ERROR
    steps: int | None = None
    max_relative_loss_difference: float | str | None = None
    trained_on: str = ""
    message: str = ""
    seconds: float = 0.0


def _literal(path: Path, name: str):
    """A module-level literal (``NAME = {...}``) read without importing the module."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    return {}


def _short_name(name: str) -> str:
    """A fixture may be named without its ``fixture:`` prefix; a Fabric case only in full (a
    bare ``flat_script`` is the Trainer's golden case, ``fabric:flat_script`` the Fabric one)."""
    return name.removeprefix("fixture:")


def cases() -> list[Case]:
    training = REPO / "tests" / "test_golden_training.py"
    script_args = _literal(training, "SCRIPT_ARGS")
    environment = _literal(training, "ENVIRONMENT")
    found = []
    for original in sorted(GOLDEN.glob("*.in.py")):
        name = original.name.removesuffix(".in.py")
        converted = GOLDEN / f"{name}.out.py"
        if converted.exists():
            found.append(
                Case(
                    name, original, converted, script_args.get(name, []), environment.get(name, {})
                )
            )
    for original in sorted(GOLDEN_FABRIC.glob("*.in.py")):  # the Fabric conversions
        name = original.name.removesuffix(".in.py")
        converted = GOLDEN_FABRIC / f"{name}.out.py"
        if converted.exists():
            args, env = script_args.get(name, []), environment.get(name, {})
            found.append(Case(f"fabric:{name}", original, converted, args, env))
    for original in sorted(FIXTURES.glob("*.py")):
        converted = FIXTURES / "converted" / original.name
        if converted.exists():
            name = f"fixture:{original.stem}"
            found.append(Case(name, original, converted, FIXTURE_ARGS.get(original.stem, [])))
    return found


def _short(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


def run_case(case: Case, opts, deadline: float, port: int) -> Outcome:
    left = deadline - time.monotonic()
    if left < 5:
        return Outcome(case.name, "skipped", "SKIPPED", message="the --budget ran out first")
    work = Path(tempfile.mkdtemp(prefix=f"gpu-check-{case.name.replace(':', '-')}-"))
    env = dict(os.environ, **case.env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    where = ["--work-dir", str(work / "work")]
    if case.env:  # a launcher's environment (the DDP case): one port, so one run after the other
        env["MASTER_PORT"] = str(port)
        where = ["--cwd", str(work)]
    timeout = min(opts.timeout, left)
    command = [
        sys.executable,
        "-m",
        "converter",
        "verify",
        str(case.original),
        "--against",
        str(case.converted),
        "--fake-data",
        "--max-steps",
        str(opts.max_steps),
        "--accelerator",
        opts.accelerator,
        "--timeout",
        f"{timeout:.0f}",
        "--json",
        *where,
        "--",
        *case.args,
    ]
    started = time.monotonic()
    try:
        proc = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout + 60
        )
    except subprocess.TimeoutExpired:
        return Outcome(case.name, "timed out", "TIMEOUT", message=f"over {timeout:.0f} s")
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    seconds = time.monotonic() - started
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return Outcome(case.name, "error", "ERROR", message=_short(last), seconds=seconds)
    return _outcome(case, result, proc.stderr, seconds)


def _outcome(case: Case, result: dict, stderr: str, seconds: float) -> Outcome:
    runs = result.get("runs", {})
    trained = ", ".join(
        f"{name} {'+'.join(info.get('devices') or ['-'])}" for name, info in runs.items()
    )
    losses = result.get("losses") or {}
    base = dict(
        steps=losses.get("compared"),
        max_relative_loss_difference=losses.get("max_relative_difference"),
        trained_on=trained,
        seconds=round(seconds, 1),
    )
    verdict = result.get("verdict")
    where = {name: info.get("devices") or [] for name, info in runs.items()}
    if (
        verdict == "diverged"
        and where.get("original") == ["cpu"]
        and "cpu" not in where.get("lightning", ["cpu"])
    ):
        note = f"{CROSS_DEVICE}; {result.get('message', '')}"
        return Outcome(case.name, "ran", "NOT COMPARABLE", message=_short(note), **base)
    if verdict in ("equivalent", "diverged"):
        return Outcome(
            case.name, "ran", verdict.upper(), message=_short(result.get("message", "")), **base
        )
    if verdict == "no-gpu":
        return Outcome(case.name, "no GPU", "NO GPU", message="torch sees no GPU", **base)
    crashed = [(n, i) for n, i in runs.items() if i.get("status") == "failed"]
    if crashed:
        why = "; ".join(f"{n}: {i.get('error') or 'failed'}" for n, i in crashed)
        return Outcome(case.name, "crashed", "CRASHED", message=_short(why), **base)
    if any(i.get("status") == "timed out" for i in runs.values()):
        return Outcome(case.name, "timed out", "TIMEOUT", message="--timeout or --budget", **base)
    last = (stderr.strip().splitlines() or [str(verdict)])[-1]
    return Outcome(case.name, "error", "ERROR", message=_short(last), **base)


def _environment() -> dict[str, str]:
    """The GPU and the library versions, from one child process (this one stays torch-free)."""
    code = (
        "import json, torch, pytorch_lightning as pl\n"
        "gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'\n"
        "print(json.dumps({'gpu': gpu, 'torch': torch.__version__, "
        "'pytorch_lightning': pl.__version__}))\n"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        ).stdout
        return json.loads(out)
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        return {"gpu": "unknown"}


def _relative(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return "0" if x == 0 else f"{x:.2e}"


COLUMNS = ("case", "ran", "losses compared", "max rel. loss diff", "trained on", "verdict", "note")


def _rows(outcomes: list[Outcome]) -> list[tuple[str, ...]]:
    return [
        (
            o.case,
            o.ran,
            "-" if o.steps is None else str(o.steps),
            _relative(o.max_relative_loss_difference),
            o.trained_on or "-",
            o.verdict,
            o.message if o.verdict != "EQUIVALENT" else "",
        )
        for o in outcomes
    ]


def table(outcomes: list[Outcome]) -> str:
    rows = _rows(outcomes)
    widths = [max(len(r[i]) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS) - 1)]
    lines = []
    for row in [COLUMNS, *rows]:
        cells = [c.ljust(w) for c, w in zip(row, widths)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def markdown(outcomes: list[Outcome], header: dict) -> str:
    head = [
        f"# GPU check, {header['date']}",
        "",
        f"GPU: {header['gpu']}; torch {header.get('torch', '?')}, "
        f"pytorch-lightning {header.get('pytorch_lightning', '?')}; "
        f"`python benchmarks/gpu_check.py {' '.join(header['argv'])}` "
        f"({header['seconds']:.0f} s, {header['jobs']} jobs, {header['max_steps']} steps).",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in _rows(outcomes):
        head.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    summary = ", ".join(f"{n} {v.lower()}" for v, n in _counts(outcomes).items())
    return "\n".join([*head, "", f"{len(outcomes)} pairs: {summary}.", ""])


def _counts(outcomes: list[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.verdict] = counts.get(o.verdict, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=min(8, max(1, (os.cpu_count() or 2) // 2)))
    parser.add_argument("--max-steps", type=int, default=20)
    parser.add_argument("--budget", type=float, default=300, help="seconds for the whole check")
    parser.add_argument("--timeout", type=float, default=240, help="seconds for one pair")
    parser.add_argument("--accelerator", choices=("gpu", "cpu"), default="gpu")
    parser.add_argument("--cases", help="comma-separated names (default: all)")
    parser.add_argument("--json", default="gpu_check.json", help="where the JSON goes")
    parser.add_argument("--markdown", default="gpu_check.md", help="where the Markdown goes")
    parser.add_argument("--keep", action="store_true", help="keep the verify work folders")
    opts = parser.parse_args(argv)
    started = time.monotonic()
    deadline = started + opts.budget
    selected = cases()
    if opts.cases:
        wanted = set(opts.cases.split(","))
        selected = [c for c in selected if c.name in wanted or _short_name(c.name) in wanted]
    info: dict = {}
    probe = threading.Thread(target=lambda: info.update(_environment()), daemon=True)
    probe.start()
    print(f"gpu_check: {len(selected)} pairs, {opts.jobs} at a time, budget {opts.budget:.0f} s")
    base_port = 29500 + os.getpid() % 1000
    with ThreadPoolExecutor(max_workers=opts.jobs) as pool:
        futures = [
            pool.submit(run_case, case, opts, deadline, base_port + i)
            for i, case in enumerate(selected)
        ]
        outcomes = []
        for case, future in zip(selected, futures):
            outcome = future.result()
            outcomes.append(outcome)
            print(f"  {case.name}: {outcome.verdict} ({outcome.seconds:.0f} s)", flush=True)
    probe.join(timeout=5)
    header = {
        "date": datetime.date.today().isoformat(),
        "gpu": info.get("gpu", "unknown"),
        "torch": info.get("torch"),
        "pytorch_lightning": info.get("pytorch_lightning"),
        "accelerator": opts.accelerator,
        "max_steps": opts.max_steps,
        "jobs": opts.jobs,
        "seconds": time.monotonic() - started,
        "argv": sys.argv[1:] if argv is None else argv,
    }
    print()
    print(table(outcomes))
    counts = _counts(outcomes)
    print(f"\n{len(outcomes)} pairs: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    print(f"GPU: {header['gpu']}; {header['seconds']:.0f} s")
    Path(opts.json).write_text(
        json.dumps({**header, "results": [asdict(o) for o in outcomes]}, indent=2) + "\n"
    )
    Path(opts.markdown).write_text(markdown(outcomes, header))
    print(f"wrote {opts.json} and {opts.markdown}")
    return 0 if all(o.verdict in PASSING for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
