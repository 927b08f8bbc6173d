"""What a Fabric conversion does on several processes where the script's own code, not Fabric,
decides: data the script batchifies itself (the report says it is not shared out), and prints in
the caller of the function that launches Fabric (printed once). Real 2-process CPU runs (DDP,
gloo) for each."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from converter import convert_source

CASES = Path(__file__).parent / "verify_cases"


def convert(path: Path):
    result = convert_source(path.read_text(), target="fabric", filename=path.name)
    assert not result.report.declined, result.report.text()
    return result


def run(script: Path, *args: str) -> list[str]:
    """The lines the script prints, launched with Fabric's flags (2 processes: it spawns)."""
    command = [sys.executable, str(script), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=script.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    lightning = ("Initializing distributed", "distributed_backend", "All distributed", "---")
    return [
        line for line in done.stdout.splitlines() if line.strip() and not line.startswith(lightning)
    ]


# -- data the script batchifies itself ----------------------------------------------------------


def test_a_training_loop_over_batchified_tensors_is_reported_as_not_shared_out():
    result = convert(CASES / "batchified_tensors.py")
    data = [e for e in result.report.changed if e.kind == "data"]
    assert len(data) == 1, result.report.text()  # the batch loop, not the epoch loop around it
    assert data[0].line == 54
    assert "iterates `enumerate(range(0, train_data.size(0) - 1, args.bptt))`" in data[0].message
    assert "each one trains on all of the data" in data[0].message


def test_a_loader_fabric_sets_up_is_not_reported():
    result = convert(Path(__file__).parent / "golden_fabric" / "loader_from_a_helper.in.py")
    assert not [e for e in result.report.changed if e.kind == "data"], result.report.text()


@pytest.mark.training
def test_batchified_tensors_train_the_same_on_2_processes_as_on_1(tmp_path):
    """What the report says: every process repeats the whole training."""
    script = tmp_path / "converted.py"
    script.write_text(convert(CASES / "batchified_tensors.py").code)
    one = run(script)
    assert len(one) == 2
    assert run(script, "--devices", "2", "--strategy", "ddp") == one


# -- prints in the caller of the function that creates Fabric ---------------------------------


def test_prints_after_the_call_that_launches_fabric_print_on_the_first_process():
    code = convert(CASES / "printed_by_the_caller.py").code
    assert "from lightning_fabric.utilities import rank_zero_only\n" in code
    assert 'print("training")\n' in code.replace("    ", "")  # before the launch: as it was
    assert (
        '    if rank_zero_only.rank == 0:\n        print(f"round {rnd}: total loss {total:.4f}")\n'
    ) in code
    assert 'if rank_zero_only.rank == 0:\n    print("done", ' in code


def test_the_guard_takes_a_fresh_name_where_the_script_has_rank_zero_only():
    source = (CASES / "printed_by_the_caller.py").read_text()
    source = source.replace("import argparse\n", "import argparse\n\nrank_zero_only = None\n", 1)
    code = convert_source(source, target="fabric").code
    assert "from lightning_fabric.utilities import rank_zero_only as rank_zero_only_2" in code
    assert "if rank_zero_only_2.rank == 0:" in code


def test_a_function_that_creates_fabric_and_prints_itself_uses_fabric_print():
    code = convert_source(
        textwrap.dedent(
            """\
            import torch
            from torch import nn


            def main():
                model = nn.Linear(4, 1)
                optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
                for x in torch.randn(4, 8, 4):
                    optimizer.zero_grad()
                    loss = model(x).sum()
                    loss.backward()
                    optimizer.step()
                print(loss.item())


            main()
            """
        ),
        target="fabric",
    ).code
    assert "fabric.print(loss.item())" in code and "rank_zero_only" not in code


@pytest.mark.training
def test_the_callers_prints_come_once_on_2_processes(tmp_path):
    script = tmp_path / "converted.py"
    script.write_text(convert(CASES / "printed_by_the_caller.py").code)
    one = run(script)
    assert [line.split(" ")[0] for line in one] == ["training", "round", "round", "done"]
    two = run(script, "--devices", "2", "--strategy", "ddp")
    # "training" comes before the launch, in every process, as in the original
    assert [line for line in two if line != "training"] == one[1:]
    assert two.count("training") == 2
