"""`torch2lightning verify` as a user runs it: ``python -m converter verify ...``, a subprocess.

The training cases live in tests/verify_cases/: a plain PyTorch script and a faithful hand-written
Lightning version of it (must agree bit for bit), a variant with a doubled learning rate, a script
that crashes, an MNIST pair for --fake-data, and a script the converter declines.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from array import array
from pathlib import Path

import pytest

from converter.verify import compare

CASES = Path(__file__).parent / "verify_cases"

needs_lightning = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("torch", "pytorch_lightning", "lightning")),
    reason="needs torch and Lightning",
)


def verify(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "converter", "verify", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def explain(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


# -- no training -----------------------------------------------------------------------------


def test_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from converter.cli import main\n"
        "r = CliRunner().invoke(main, ['verify', '--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert '--max-steps' in r.output and '--fake-data' in r.output\n"
        "assert 'torch' not in sys.modules, 'verify imported torch in the CLI process'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_declined_script_exits_2_with_reasons(tmp_path):
    result = verify(CASES / "no_training.py", cwd=tmp_path)
    assert result.returncode == 2, explain(result)
    assert "declined" in result.stderr and "nothing to compare" in result.stderr
    assert "no_training.py:" in result.stderr  # the report's file:line: reason lines


def _trace(path: Path, losses, weights, steps=None, status="finished", fmt="f"):
    """A trace as tracing.Tracer writes it: ``weights`` is a list of (name, [values])."""
    params, blob = [], b""
    for name, values in weights:
        raw = array(fmt, values).tobytes()
        params.append(
            {
                "name": name,
                "shape": [len(values)],
                "dtype": "float32",
                "format": fmt,
                "offset": len(blob),
                "nbytes": len(raw),
            }
        )
        blob += raw
    trace = {
        "version": 1,
        "status": status,
        "error": None,
        "steps": len(losses) if steps is None else steps,
        "losses": [
            {"step": i, "numel": 1, "dtype": "float32", "value": v} for i, v in enumerate(losses)
        ],
        "optimizers": [{"class": "SGD", "groups": [{"lr": 0.1, "params": params}]}]
        if params
        else [],
    }
    path.write_text(json.dumps(trace))
    Path(str(path) + ".bin").write_bytes(blob)
    return compare.load(str(path))


def test_compare_exact_tolerance_and_nan(tmp_path):
    a = _trace(tmp_path / "a.json", [1.0, 0.5, float("nan")], [("w", [1.0, 2.0])])
    b = _trace(tmp_path / "b.json", [1.0, 0.5, float("nan")], [("w", [1.0, 2.0])])
    assert compare.compare(a, b).equivalent
    c = _trace(tmp_path / "c.json", [1.0, 0.5 + 1e-7, float("nan")], [("w", [1.0, 2.0 + 1e-6])])
    exact = compare.compare(a, c)
    assert not exact.equivalent and exact.first_diff == 1
    assert compare.summary(exact)[1].startswith("DIVERGED at step 2")
    loose = compare.compare(a, c, tolerance=1e-5)
    assert loose.equivalent and loose.max_loss_diff > 0 and loose.weights.max_diff > 0
    assert "within tolerance" in compare.summary(loose)[1]


def test_compare_weights_counts_and_structure(tmp_path):
    a = _trace(tmp_path / "a.json", [1.0, 0.5], [("fc.weight", [1.0, 2.0]), ("fc.bias", [0.0])])
    only_weights = _trace(
        tmp_path / "b.json", [1.0, 0.5], [("fc.weight", [1.0, 2.5]), ("fc.bias", [0.0])]
    )
    result = compare.compare(a, only_weights)
    assert result.first_diff is None and result.weights.differing == ["fc.weight"]
    assert "final weights differ" in compare.summary(result)[1]
    fewer = _trace(tmp_path / "c.json", [1.0], [("fc.weight", [1.0, 2.0]), ("fc.bias", [0.0])])
    assert "DIVERGED" in compare.summary(compare.compare(a, fewer))[1]
    missing = _trace(tmp_path / "d.json", [1.0, 0.5], [("fc.weight", [1.0, 2.0])])
    result = compare.compare(a, missing)
    assert result.weights.mismatch and not result.equivalent


def test_table_shows_head_tail_and_differences_only(tmp_path):
    losses = [float(i) for i in range(1000)]
    a = _trace(tmp_path / "a.json", losses, [("w", [0.0])])
    b = _trace(tmp_path / "b.json", losses[:500] + [500.5] + losses[501:], [("w", [0.0])])
    text = compare.table(compare.compare(a, b))
    lines = text.splitlines()
    assert len(lines) < 20
    assert any(line.split()[0] == "501" and "first difference" in line for line in lines)
    assert "(495 more steps)" in text and lines[-1].split()[0] == "1000"


# -- training --------------------------------------------------------------------------------


@pytest.mark.training
@needs_lightning
def test_faithful_lightning_version_is_bit_identical(tmp_path):
    user, work = tmp_path / "user", tmp_path / "work"
    result = verify(
        CASES / "plain_train.py",
        "--against",
        CASES / "lightning_train.py",
        "--work-dir",
        work,
        "-v",
        cwd=user,
    )
    assert result.returncode == 0, explain(result)
    assert "EQUIVALENT" in result.stdout
    assert "losses compared: 32" in result.stdout
    assert "optimizer steps: original 32, lightning 32" in result.stdout
    assert "largest loss difference: 0\n" in result.stdout
    assert "largest weight difference: 0\n" in result.stdout
    assert "epoch 1: val accuracy" in result.stdout  # -v shows the scripts' own output
    original = json.loads((work / "original.trace.json").read_text())
    lightning = json.loads((work / "lightning.trace.json").read_text())
    assert [e["value"] for e in original["losses"]] == [e["value"] for e in lightning["losses"]]
    names = [p["name"] for o in lightning["optimizers"] for g in o["groups"] for p in g["params"]]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    # each run wrote into its own folder, none into the user's
    assert (work / "original" / "model.pt").exists() and (work / "lightning" / "model.pt").exists()
    assert (work / "lightning" / "lightning_logs").is_dir()
    assert list(user.iterdir()) == []


@pytest.mark.training
@needs_lightning
def test_doubled_learning_rate_diverges_at_step_2(tmp_path):
    result = verify(
        CASES / "plain_train.py", "--against", CASES / "lightning_double_lr.py", cwd=tmp_path
    )
    assert result.returncode == 1, explain(result)
    assert "DIVERGED at step 2:" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "first difference" in line)
    assert row.split()[0] == "2"


@pytest.mark.training
@needs_lightning
def test_crashing_script_exits_2_with_its_error(tmp_path):
    result = verify(CASES / "crashing.py", "--against", CASES / "lightning_train.py", cwd=tmp_path)
    assert result.returncode == 2, explain(result)
    assert "could not run the original script" in result.stderr
    assert "mat1 and mat2 shapes cannot be multiplied" in result.stderr
    assert "crashing.py" in result.stderr and "runpy" not in result.stderr


@pytest.mark.training
@needs_lightning
def test_max_steps_stops_both_runs_after_3_steps(tmp_path):
    work = tmp_path / "work"
    result = verify(
        CASES / "plain_train.py",
        "--against",
        CASES / "lightning_train.py",
        "--max-steps",
        "3",
        "--work-dir",
        work,
        "--",
        "--epochs",
        "1",
        cwd=tmp_path / "user",
    )
    assert result.returncode == 0, explain(result)
    assert "losses compared: 3 " in result.stdout
    assert "optimizer steps: original 3, lightning 3 (stopped by --max-steps)" in result.stdout
    lightning = json.loads((work / "lightning.trace.json").read_text())
    assert lightning["status"] == "stopped" and lightning["steps"] == 3
    # the stop left Trainer.fit as an exception: Lightning neither swallowed it nor exited
    assert not (work / "lightning" / "model.pt").exists()


@pytest.mark.training
@needs_lightning
def test_fake_data_runs_mnist_offline(tmp_path):
    assert not Path("/nonexistent").exists()
    result = verify(
        CASES / "mnist_plain.py",
        "--against",
        CASES / "mnist_lightning.py",
        "--fake-data",
        cwd=tmp_path,
    )
    assert result.returncode == 0, explain(result)
    assert "losses compared: 8 " in result.stdout  # 512 fake images, batches of 64, 1 epoch
    assert "EQUIVALENT" in result.stdout
    assert not Path("/nonexistent").exists()


@pytest.mark.training
@needs_lightning
def test_shared_cwd_runs_both_there(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    result = verify(
        CASES / "plain_train.py",
        "--against",
        CASES / "plain_train.py",
        "--cwd",
        shared,
        "--",
        "--epochs",
        "1",
        cwd=tmp_path,
    )
    assert result.returncode == 0, explain(result)
    assert "losses compared: 16 " in result.stdout
    assert (shared / "model.pt").exists()


@needs_lightning
def test_stop_is_neither_exception_nor_keyboard_interrupt():
    # Lightning turns KeyboardInterrupt into sys.exit(1); user code catches Exception
    code = (
        "from converter.verify.tracing import StopTraining\n"
        "assert not issubclass(StopTraining, (Exception, KeyboardInterrupt))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
