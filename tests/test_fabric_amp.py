"""Mixed precision in a Fabric conversion: one GradScaler used plainly becomes Fabric's precision;
anything else keeps the script's own GradScalers and autocast, with Fabric pinned to 32 bits
(goldens: `mixed_precision`, `gan_scaler_per_network`, `scaler_passed_to_training_function`).
The training tests run a GradScaler that really scales on the CPU and skips overflowing steps,
on one process against the original (`verify`) and on two (DDP)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from converter import convert_source

HERE = Path(__file__).parent
SKIPPING = HERE / "verify_cases" / "scaler_skipping_steps.py"

_TWO_SCALERS = """\
import argparse
import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1)
args = parser.parse_args()
gen = nn.Linear(2, 4)
disc = nn.Linear(4, 1)
opt_gen = torch.optim.Adam(gen.parameters())
opt_disc = torch.optim.Adam(disc.parameters())
g_scaler = torch.amp.GradScaler("cuda")
d_scaler = torch.amp.GradScaler("cuda")
for epoch in range(args.epochs):
    for real in torch.randn(4, 8, 4):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            d_loss = disc(real).mean() - disc(gen(torch.randn(8, 2)).detach()).mean()
        opt_disc.zero_grad()
        d_scaler.scale(d_loss).backward()
        d_scaler.step(opt_disc)
        d_scaler.update()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            g_loss = disc(gen(torch.randn(8, 2))).mean()
        opt_gen.zero_grad()
        g_scaler.scale(g_loss).backward()
        g_scaler.step(opt_gen)
        g_scaler.update()
"""


def _convert(source: str):
    result = convert_source(textwrap.dedent(source), target="fabric", filename="t.py")
    assert not result.report.declined, result.report.text()
    return result


def _fabric_call(code: str) -> ast.Call:
    return next(
        node
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Fabric"
    )


def test_a_scaler_per_optimizer_is_kept_and_fabric_pinned_to_32_bits_without_a_precision_flag():
    result = _convert(_TWO_SCALERS)
    code = result.code
    # The script's AMP exactly as written, the scaled loss handed to Fabric's backward.
    for kept in (
        'g_scaler = torch.amp.GradScaler("cuda")',
        'with torch.autocast("cuda", dtype=torch.bfloat16):',
        "fabric.backward(d_scaler.scale(d_loss))",
        "d_scaler.step(opt_disc)",
        "g_scaler.update()",
    ):
        assert kept in code
    assert "fabric.autocast" not in code
    # Fabric's own mixed precision would scale the loss a second time: no flag can choose it,
    # while the other flags still reach Fabric.
    assert "--precision" not in code
    keywords = {k.arg: ast.unparse(k.value) for k in _fabric_call(code).keywords}
    assert keywords == {
        "accelerator": "args.accelerator",
        "devices": "args.devices",
        "num_nodes": "args.num_nodes",
        "precision": "'32-true'",
        "strategy": "args.strategy",
    }
    assert (
        "    # 32-true: the script's own GradScalers and autocast do the mixed precision\n"
        not in (code)
    )
    assert (
        "# 32-true: the script's own GradScalers and autocast do the mixed precision\nfabric = "
        in (code)
    )
    (precision,) = [e for e in result.report.changed if e.kind == "precision"]
    assert precision.line == 12
    assert precision.message.startswith(
        "the script's own GradScalers `d_scaler`, `g_scaler` and autocast kept, "
        'Fabric(precision="32-true"): several GradScalers (`d_scaler` and `g_scaler`): Fabric '
        "keeps one loss scale"
    )


def test_one_scaler_used_plainly_still_becomes_fabrics_precision():
    source = _TWO_SCALERS.replace("g_scaler", "d_scaler").replace(
        'd_scaler = torch.amp.GradScaler("cuda")\nd_scaler = torch.amp.GradScaler("cuda")\n',
        'd_scaler = torch.amp.GradScaler("cuda")\n',
    )
    code = _convert(source).code
    assert "GradScaler" not in code and "d_scaler" not in code
    assert "fabric.backward(d_loss)" in code and "opt_disc.step()" in code
    assert "with fabric.autocast():" in code
    precision = ast.unparse(_fabric_call(code).keywords[3].value)
    assert precision == "'bf16-mixed' if torch.cuda.is_available() else '32-true'"


_GET_SCALE = ("d_scaler.update()", "d_scaler.update()\n        print(d_scaler.get_scale())")
_UNSCALE = (
    "d_scaler.step(opt_disc)",
    "d_scaler.unscale_(opt_disc)\n        d_scaler.step(opt_disc)",
)
_FLOAT16 = ("bfloat16):\n            g_loss", "float16):\n            g_loss")


@pytest.mark.parametrize(
    ("change", "reason"),
    [(_GET_SCALE, "get_scale"), (_UNSCALE, "unscale_"), (_FLOAT16, "different settings")],
)
def test_one_scaler_asked_anything_else_is_kept_and_the_report_says_why(change, reason):
    source = _TWO_SCALERS.replace("g_scaler", "d_scaler").replace(
        'd_scaler = torch.amp.GradScaler("cuda")\nd_scaler = torch.amp.GradScaler("cuda")\n',
        'd_scaler = torch.amp.GradScaler("cuda")\n',
    )
    assert change[0] in source
    result = _convert(source.replace(*change, 1))
    assert "fabric.backward(d_scaler.scale(d_loss))" in result.code
    assert 'precision="32-true"' in result.code
    (precision,) = [e for e in result.report.changed if e.kind == "precision"]
    assert reason in precision.message


def test_a_scaler_step_that_cannot_be_followed_is_declined_with_the_reason():
    source = """\
    import torch
    from torch import nn


    def train(model, optimizer, scaler):
        for x in torch.randn(4, 8, 4):
            optimizer.zero_grad()
            scaler.scale(model(x).sum()).backward()
            scaler.step(optimizer)
            scaler.update()


    def main():
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = torch.amp.GradScaler("cuda") if torch.cuda.is_available() else None
        train(model, optimizer, scaler)
    """
    result = convert_source(textwrap.dedent(source), target="fabric", filename="t.py")
    assert not result.changed
    assert result.report.reasons() == [
        "t.py:9: `scaler.step(...)` steps the optimizer through `scaler`, which is not a "
        "GradScaler created once by an assignment (nor a parameter every call passes one)"
    ]


# -- training ---------------------------------------------------------------------------------


def _run(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, timeout=600, cwd=cwd
    )


@pytest.mark.training
def test_a_kept_scaler_skips_the_same_steps_as_the_original(tmp_path):
    """The CPU GradScaler really scales here, from 2**127: the first steps overflow and are
    skipped, then the scale shrinks and training goes on; the conversion does the same."""
    run = _run("-m", "converter", "verify", SKIPPING, "--target", "fabric", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "optimizer steps: original 32, lightning 32" in run.stdout  # 16 of 48 skipped
    assert "largest loss difference: 0\n" in run.stdout
    assert "EQUIVALENT" in run.stdout


@pytest.mark.training
def test_on_2_processes_every_scaler_skips_the_same_steps_and_ends_with_the_same_weights(
    tmp_path,
):
    """DDP averages the scaled gradients during backward: an overflow on one process is one on
    all, so every process's scaler skips the same steps and keeps the same scale."""
    converted = tmp_path / "converted.py"
    convert = _run("-m", "converter", "convert", "--target", "fabric", SKIPPING, "-o", converted,
                   cwd=tmp_path)  # fmt: skip
    assert convert.returncode == 0, convert.stderr
    run = _run(converted, "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp",
               cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    epochs = [line for line in run.stdout.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 6  # printed once
    first, second = (tmp_path / "rank0.txt").read_text(), (tmp_path / "rank1.txt").read_text()
    assert first == second
    assert float(first.split()[0]) < 2.0**127  # overflowing steps were skipped


_SETTING_OF_ANOTHER_FUNCTION = """\
import torch
from torch import nn


def train_one_epoch(model, optimizer, loader, use_amp=False):
    enable_amp = use_amp and torch.cuda.is_available()
    scaler = torch.cuda.amp.GradScaler(enabled=enable_amp)
    for x in loader:
        with torch.cuda.amp.autocast(enabled=enable_amp):
            loss = model(x).pow(2).mean()
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()


def main():
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(2):
        train_one_epoch(model, optimizer, torch.randn(3, 8, 4))


main()
"""


def test_an_autocast_setting_read_from_the_training_function_keeps_the_script_s_amp():
    """Fabric is created in main(), where `enable_amp` does not exist: the setting cannot become
    Fabric's precision (this was an internal error: the output read an unbound name)."""
    result = _convert(_SETTING_OF_ANOTHER_FUNCTION)
    assert "with torch.cuda.amp.autocast(enabled=enable_amp):" in result.code
    assert "fabric.backward(scaler.scale(loss))" in result.code
    assert _fabric_call(result.code).keywords[-1].value.value == "32-true"
    assert "a variable of another function" in result.report.text()
