"""benchmarks/gpu_check.py without a GPU: its plumbing, run as the lead runs it (a subprocess), on
the CPU (``--accelerator cpu``, bit-identical), and its verdicts from verify's JSON results."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_verify import needs_lightning

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict, str]:
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--json", str(out_json), "--markdown", str(out_md)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return run, json.loads(out_json.read_text()), out_md.read_text()


def test_every_golden_case_and_both_fixtures_are_checked_with_the_training_tests_arguments():
    cases = {c.name: c for c in _module().cases()}
    golden = Path(__file__).parent / "golden"
    assert {n for n in cases if ":" not in n} == {
        p.name.removesuffix(".in.py") for p in golden.glob("*.in.py")
    }
    assert {"fixture:mnist_classifier", "fixture:autoencoder"} <= set(cases)
    assert cases["function_based"].args == ["--epochs", "1", "--log-interval", "3"]
    assert cases["ddp"].env["WORLD_SIZE"] == "1"
    fabric = Path(__file__).parent / "golden_fabric"
    assert {n.removeprefix("fabric:") for n in cases if n.startswith("fabric:")} == {
        p.name.removesuffix(".in.py") for p in fabric.glob("*.in.py")
    }
    assert cases["fabric:ddp"].env["WORLD_SIZE"] == "1"
    assert cases["fabric:function_based"].converted.name == "function_based.out.py"


def test_a_spent_budget_skips_every_pair_and_fails(tmp_path):
    run, found, markdown = _run(tmp_path, "--budget", "0", "--cases", "flat_script,gan")
    assert run.returncode == 1, run.stdout + run.stderr
    assert [r["verdict"] for r in found["results"]] == ["SKIPPED", "SKIPPED"]
    assert "| flat_script | skipped |" in markdown and "2 pairs: 2 skipped." in markdown


def test_a_bare_name_is_the_trainer_case_and_a_fabric_case_is_named_in_full(tmp_path):
    cases = "flat_script,fabric:gan,autoencoder"
    run, found, _ = _run(tmp_path, "--budget", "0", "--cases", cases)
    assert [r["case"] for r in found["results"]] == [
        "flat_script",
        "fabric:gan",
        "fixture:autoencoder",
    ]


@pytest.mark.training
@needs_lightning
def test_pairs_run_in_parallel_and_are_tabled(tmp_path):
    run, found, markdown = _run(
        tmp_path, "--accelerator", "cpu", "--cases", "flat_script,autoencoder", "--max-steps", "2"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    results = {r["case"]: r for r in found["results"]}
    assert set(results) == {"flat_script", "fixture:autoencoder"}
    for result in results.values():
        assert result["verdict"] == "EQUIVALENT" and result["ran"] == "ran"
        assert result["steps"] == 2 and result["max_relative_loss_difference"] == 0
        assert result["trained_on"] == "original cpu, lightning cpu"
    assert found["accelerator"] == "cpu" and found["max_steps"] == 2
    assert "| fixture:autoencoder | ran | 2 | 0 | original cpu, lightning cpu | EQUIVALENT |" in (
        markdown
    )


def test_verdicts_from_verifys_results():
    gpu_check = _module()
    case = gpu_check.Case("x", Path("a.py"), Path("b.py"))

    def runs(original, lightning, status="ok", error=None):
        return {
            "original": {"status": "ok", "devices": original},
            "lightning": {"status": status, "devices": lightning, "error": error},
        }

    diverged = {"verdict": "diverged", "message": "DIVERGED at step 1: ...", "losses": {}}
    cross = gpu_check._outcome(case, {**diverged, "runs": runs(["cpu"], ["cuda"])}, "", 1.0)
    assert cross.verdict == "NOT COMPARABLE" and "DIVERGED at step 1" in cross.message
    same = gpu_check._outcome(case, {**diverged, "runs": runs(["cuda"], ["cuda"])}, "", 1.0)
    assert same.verdict == "DIVERGED"
    crash = {
        "verdict": "failed",
        "runs": runs([], [], "failed", "RuntimeError: Expected all tensors to be on the same"),
    }
    crashed = gpu_check._outcome(case, crash, "", 1.0)
    assert crashed.verdict == "CRASHED" and crashed.ran == "crashed"
    assert crashed.message == "lightning: RuntimeError: Expected all tensors to be on the same"
    no_gpu = gpu_check._outcome(case, {"verdict": "no-gpu", "runs": runs([], [])}, "", 1.0)
    assert no_gpu.verdict == "NO GPU"
