"""`--target fabric` and `--fallback fabric` as users run them: what is declined and why, the
command line on real files (subprocesses), `verify --target fabric`, and the evaluation of a Fabric
conversion on 2 CPU processes (`verify --devices 2`)."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from converter import convert_source

HERE = Path(__file__).parent
DECLINES = sorted((HERE / "fabric_declines").glob("*.py"))
CASES = HERE / "verify_cases"


def cli(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "converter", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)


def explain(run: subprocess.CompletedProcess) -> str:
    return f"exit {run.returncode}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"


# -- what Fabric declines ---------------------------------------------------------------------


@pytest.mark.parametrize("path", DECLINES, ids=lambda p: p.stem)
def test_fabric_declines_with_a_reason_and_leaves_the_file_as_it_was(path):
    source = path.read_text()
    expected = source.splitlines()[0].removeprefix("# fabric declines:").strip()
    result = convert_source(source, target="fabric", filename=path.name)
    assert result.code == source
    reasons = " | ".join(e.message for e in result.report.declined)
    assert expected in reasons, result.report.text()
    assert all(e.line >= 1 for e in result.report.declined), result.report.text()


def test_when_both_decline_the_report_gives_both_reasons():
    source = (HERE / "fabric_declines" / "training_in_a_method.py").read_text()
    result = convert_source(source, fallback="fabric", filename="t.py")
    assert result.code == source
    assert result.report.reasons() == [
        "t.py:14: Trainer: backward() is not inside a loop",
        "t.py:15: Fabric: train_step() is a method: Fabric needs the optimizer created and "
        "stepped in a function or the script itself",
    ]


def test_the_same_reason_from_both_is_given_once():
    source = (HERE / "fabric_declines" / "no_training_loop.py").read_text()
    result = convert_source(source, fallback="fabric")
    assert [e.message for e in result.report.declined] == [
        "Trainer: no training loop: nothing calls .backward()"
    ]


# -- details of the conversion ----------------------------------------------------------------


def _fabric(code: str) -> str:
    result = convert_source(textwrap.dedent(code), target="fabric")
    assert not result.report.declined, result.report.text()
    return result.code


def test_prints_before_fabric_exists_stay_prints():
    code = _fabric(
        """\
        import argparse
        import torch
        from torch import nn

        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float, default=0.1)
        args = parser.parse_args()
        print("arguments", args)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
        for x in torch.randn(4, 8, 4):
            optimizer.zero_grad()
            loss = model(x).sum()
            loss.backward()
            optimizer.step()
            print(loss.item())
        """
    )
    # Fabric needs the flags, so it comes after parse_args(); the print there runs in every
    # process, as in the original; the one in the loop prints once.
    assert 'print("arguments", args)\nfabric.print' not in code
    assert code.index("fabric.launch()") < code.index('print("arguments", args)')
    assert "    fabric.print(loss.item())" in code
    assert 'parser.add_argument("--strategy", default="auto"' in code
    assert "strategy=args.strategy" in code


def test_a_function_with_defaults_receives_fabric_as_a_keyword():
    code = _fabric(
        """\
        import torch
        from torch import nn


        def train(model, optimizer, steps=4):
            for x in torch.randn(steps, 8, 4):
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()


        def main():
            model = nn.Linear(4, 1)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            train(model, optimizer)
            train(model, optimizer, steps=2)


        main()
        """
    )
    assert "def train(model, optimizer, steps=4, *, fabric):" in code
    assert "    train(model, optimizer, fabric=fabric)\n" in code
    assert "    train(model, optimizer, steps=2, fabric=fabric)\n" in code


def test_an_optimizer_of_plain_tensors_is_set_up_alone_and_nothing_is_moved():
    code = _fabric(
        """\
        import torch

        w = torch.zeros(4, 1, requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=0.1)
        loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
        for epoch in range(2):
            for x in loader:
                optimizer.zero_grad()
                loss = (x @ w).pow(2).mean() + torch.randn(1).abs()
                loss.backward()
                optimizer.step()
        """
    )
    assert "optimizer = fabric.setup_optimizers(optimizer)" in code
    assert "setup_dataloaders" not in code and "fabric.device" not in code
    assert "fabric.backward(loss)" in code


def test_models_created_on_the_gpu_are_created_plainly_and_other_cuda_moves_follow_fabric():
    # regression: `Generator().cuda()` was both stripped and rewritten (converter crash)
    code = _fabric(
        """\
        import torch
        from torch import nn

        G = nn.Linear(2, 4).cuda()
        D = nn.Linear(4, 1).cuda()
        opt_g = torch.optim.Adam(G.parameters())
        opt_d = torch.optim.Adam(D.parameters())
        for x in torch.randn(4, 8, 4).cuda():
            z = torch.randn(8, 2).cuda()
            d_loss = D(x).mean() - D(G(z).detach()).mean()
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = -D(G(z)).mean()
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
        """
    )
    assert "G = nn.Linear(2, 4)\n" in code and "D = nn.Linear(4, 1)\n" in code
    assert "z = torch.randn(8, 2).to(fabric.device)" in code
    assert "G, opt_g = fabric.setup(G, opt_g)" in code


def test_a_model_printed_after_its_setup_prints_the_scripts_module_not_fabrics_wrapper():
    # regression: dragen1860 lesson58 printed `_FabricModule(` where the original printed `GCN(`
    code = _fabric(
        """\
        import torch
        from torch import nn

        model = nn.Linear(4, 1)
        print(model)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        print("model:", model, f"({model})")
        for x in torch.randn(4, 8, 4):
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
        """
    )
    assert "model = nn.Linear(4, 1)\nfabric.print(model)\n" in code  # not set up yet
    assert 'fabric.print("model:", model.module, f"({model.module})")' in code


def test_a_received_model_is_unwrapped_where_indexed_and_returned_whatever_the_call_hands_in():
    code = _fabric(
        """\
        import torch
        from torch import nn

        def train(net, data):
            opt = torch.optim.SGD(net.parameters(), lr=0.1)
            for x, y in data:
                x, y = x.to(DEVICE), y.to(DEVICE)
                opt.zero_grad()
                nn.functional.mse_loss(net(x), y).backward()
                opt.step()
            print(net[0].weight.sum().item())
            return net

        DEVICE = torch.device("cpu")
        trained = train(nn.Sequential(nn.Linear(4, 1)), [(torch.randn(8, 4), torch.randn(8, 1))])
        """
    )
    assert "    net, opt = fabric.setup(net, opt)\n" in code
    assert "fabric.print(net.module[0].weight.sum().item())" in code
    assert "    return net.module\n" in code  # the caller gets its own module back, as before


def test_names_the_script_uses_are_not_taken():
    code = _fabric(
        """\
        import torch
        from torch import nn

        fabric = "cotton"
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for x in torch.randn(4, 8, 4):
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
        print(fabric)
        """
    )
    assert "fabric_2 = Fabric()" in code
    assert "fabric_2.backward(model(x).sum())" in code
    assert "fabric_2.print(fabric)" in code


def test_a_model_saved_whole_is_saved_unwrapped_and_a_state_dict_through_fabric_save():
    code = _fabric(
        """\
        import torch
        from torch import nn

        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(2):
            for x in torch.randn(4, 8, 4):
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
            if epoch % 2 == 0:
                torch.save(model.state_dict(), f"epoch{epoch}.pt")
            if model.weight.sum() > 0:  # may differ between processes: Fabric's save would wait
                torch.save(model.state_dict(), "positive.pt")
        torch.save(model, "model.pt")
        """
    )
    assert 'fabric.save(f"epoch{epoch}.pt", model.state_dict())' in code
    assert 'torch.save(model.state_dict(), "positive.pt")' in code
    assert 'torch.save(model.module, "model.pt")' in code


SUMS = """\
import torch
from torch import nn
from torchvision.utils import save_image

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.utils.data.TensorDataset(torch.randn(32, 4))
loader = torch.utils.data.DataLoader(data, batch_size=8)
for epoch in range(2):
    running, hits = 0.0, 0
    for (x,) in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
        running += loss.item() / len(loader)
        hits += (model(x) > 0).sum()
    print(running, hits)
    save_image(model.weight.detach().view(1, 1, 4), "weight.png")
"""


def test_a_training_loop_s_sums_are_totals_over_the_processes_without_a_helper():
    code = convert_source(SUMS, target="fabric").code
    assert (
        "    if fabric.world_size > 1:  # the totals over all processes' batches\n"
        '        running = fabric.all_reduce(running, reduce_op="sum").item()\n'
        '        hits = fabric.all_reduce(hits, reduce_op="sum")\n'
    ) in code, code
    # a per-batch mean: each batch's share of every process's batches
    assert "running += loss.item() / (len(loader) * fabric.world_size)" in code
    assert "def sum_over_processes" not in code


def test_a_sum_read_with_the_loop_s_batch_index_stays_the_processes_own():
    source = SUMS.replace("for (x,) in loader:", "for i, (x,) in enumerate(loader):")
    source = source.replace("print(running, hits)", "print(running / (i + 1))")
    code = convert_source(source, target="fabric").code
    assert "all_reduce" not in code


def test_a_file_the_script_writes_itself_is_written_by_the_first_process():
    code = convert_source(SUMS, target="fabric").code
    assert "    if fabric.is_global_zero:\n        save_image(" in code, code


# -- the command line -------------------------------------------------------------------------


def test_convert_target_fabric_writes_the_conversion(tmp_path):
    script = tmp_path / "train.py"
    script.write_text((HERE / "golden_fabric" / "gan.in.py").read_text())
    run = cli("convert", "--target", "fabric", script)
    assert run.returncode == 0, explain(run)
    assert script.read_text() == (HERE / "golden_fabric" / "gan.out.py").read_text()
    assert "converted " in run.stderr and "Lightning Fabric" not in run.stderr


def test_convert_fallback_converts_what_the_trainer_declines_and_says_so(tmp_path):
    for name in ("while_epoch_loop", "gan"):
        (tmp_path / f"{name}.py").write_text((HERE / "golden_fabric" / f"{name}.in.py").read_text())
    (tmp_path / "method.py").write_text(
        (HERE / "fabric_declines" / "training_in_a_method.py").read_text()
    )
    run = cli("convert", "--fallback", "fabric", "--json", "-v", tmp_path)
    assert run.returncode == 0, explain(run)
    files = {Path(f["file"]).name: f for f in json.loads(run.stdout)["files"]}
    fabric = (HERE / "golden_fabric" / "while_epoch_loop.out.py").read_text()
    assert (tmp_path / "while_epoch_loop.py").read_text() == fabric
    first = files["while_epoch_loop.py"]["changed"][0]
    assert first["kind"] == "fallback"
    assert first["message"] == (
        "converted to Fabric: the Trainer conversion declined (line 9: the epoch loop is a "
        "`while` loop, which it cannot lift into the Trainer's fixed number of epochs)"
    )
    assert (
        "converted " in run.stderr
        and "(to Lightning Fabric: the Trainer conversion declined" in run.stderr
    )
    # the Trainer takes the GAN: no Fabric for it
    assert "pytorch_lightning" in (tmp_path / "gan.py").read_text()
    assert files["method.py"]["status"] == "unchanged"
    assert [d["message"][:8] for d in files["method.py"]["declined"]] == ["Trainer:", "Fabric: "]


def _lightning_imports(text: str) -> set[str]:
    """The top-level Lightning modules a converted file imports."""
    found = re.findall(
        r"^(?:import|from) (lightning_fabric|lightning|pytorch_lightning)\b", text, re.M
    )
    return set(found)


@pytest.mark.parametrize(
    ("package", "expected"),
    [
        (None, {"pytorch_lightning", "lightning_fabric"}),
        ("lightning", {"lightning"}),
    ],
)
def test_one_lightning_distribution_per_output_whichever_target_converts(
    tmp_path, package, expected
):
    """The Trainer converts the GAN, Fabric the `while` loop: both import from one distribution."""
    for name in ("while_epoch_loop", "gan"):
        (tmp_path / f"{name}.py").write_text((HERE / "golden_fabric" / f"{name}.in.py").read_text())
    flags = ["--lightning-package", package] if package else []
    run = cli("convert", "--fallback", "fabric", *flags, tmp_path)
    assert run.returncode == 0, explain(run)
    imported = set()
    for name in ("while_epoch_loop", "gan"):
        imported |= _lightning_imports((tmp_path / f"{name}.py").read_text())
    assert imported == expected
    distributions = importlib.metadata.packages_distributions()
    assert len({d for module in imported for d in distributions[module]}) == 1, imported


def test_lightning_package_that_contradicts_the_target_is_a_usage_error(tmp_path):
    (tmp_path / "gan.py").write_text((HERE / "golden_fabric" / "gan.in.py").read_text())
    before = (tmp_path / "gan.py").read_text()
    run = cli(
        "convert", "--target", "lightning", "--lightning-package", "pytorch_lightning", tmp_path
    )
    assert run.returncode == 2, explain(run)
    assert "target lightning imports lightning, not pytorch_lightning" in run.stderr
    assert (tmp_path / "gan.py").read_text() == before


def test_convert_rejects_an_unknown_fallback(tmp_path):
    run = cli("convert", "--fallback", "keras", tmp_path)
    assert run.returncode == 2 and "Invalid value for '--fallback'" in run.stderr


def test_convert_and_help_never_import_torch(tmp_path):
    script = tmp_path / "train.py"
    script.write_text((HERE / "golden_fabric" / "function_based.in.py").read_text())
    probe = (
        "import sys, runpy; sys.argv = ['torch2lightning', 'convert', '--target', 'fabric', "
        f"{str(script)!r}]\n"
        "try:\n    runpy.run_module('converter', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules and 'lightning' not in sys.modules, 'imported'\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert run.returncode == 0, explain(run)
    assert "Fabric" in script.read_text()


# -- verify -----------------------------------------------------------------------------------


@pytest.mark.training
def test_verify_fallback_fabric_proves_the_conversion(tmp_path):
    script = HERE / "golden_fabric" / "train_until.in.py"
    run = cli("verify", script, "--fallback", "fabric", "--work-dir", tmp_path / "w")
    assert run.returncode == 0, explain(run)
    declined = "note: converted to Fabric: the Trainer conversion declined (line 43: the epoch loop"
    assert declined in run.stdout
    assert "largest loss difference: 0\n" in run.stdout
    assert "printed output: 2 lines compared (original 2, lightning 2): the same" in run.stdout
    assert run.stdout.splitlines()[-1].startswith("EQUIVALENT")


@pytest.mark.training
def test_verify_target_fabric_catches_a_conversion_that_trains_differently(tmp_path):
    converted = tmp_path / "converted.py"
    text = (HERE / "golden_fabric" / "train_until.out.py").read_text()
    converted.write_text(text.replace("lr=args.lr, momentum=0.9", "lr=args.lr, momentum=0.8"))
    original = HERE / "golden_fabric" / "train_until.in.py"
    run = cli("verify", original, "--against", converted, "--target", "fabric")
    assert run.returncode == 1, explain(run)
    assert "DIVERGED at step " in run.stdout


@pytest.mark.training
def test_verify_target_fabric_says_when_fabric_declines(tmp_path):
    run = cli("verify", HERE / "fabric_declines" / "training_in_a_method.py", "--target", "fabric")
    assert run.returncode == 2, explain(run)
    assert "train_step() is a method" in run.stderr


# -- the evaluation on 2 processes ------------------------------------------------------------


@pytest.mark.training
def test_a_fabric_conversion_evaluates_on_2_processes_as_on_1_and_prints_once(tmp_path):
    run = cli(
        "verify", CASES / "eval_plain.py", "--target", "fabric", "--devices", "2", cwd=tmp_path
    )
    assert run.returncode == 0, explain(run)
    out = run.stdout
    assert "printed output: 7 lines compared (original 7, lightning 7): the same" in out
    assert "1 vs 2 processes (ddp, gloo):" in out
    assert "evaluation: 1 line printed\n" in out and "evaluation: 2 lines printed\n" in out
    assert "the same on 2 processes: printed once, metrics reduced" in out
    assert out.splitlines()[-1].startswith("EQUIVALENT")


@pytest.mark.training
def test_devices_2_fails_a_fabric_script_whose_processes_print_their_own_shard(tmp_path):
    run = cli(
        "verify",
        CASES / "eval_plain.py",
        "--against",
        CASES / "eval_fabric.py",
        "--devices",
        "2",
        "--",
        "--mode",
        "per_shard",
        cwd=tmp_path,
    )
    assert run.returncode == 1, explain(run)
    out = run.stdout
    assert "printed output: 7 lines compared" in out  # one process: all agree
    assert "! evaluation: what rank 0 printed differs from 1 process" in out
    assert "! evaluation: rank 1 printed too" in out and "print once (fabric.print" in out
    assert "DIVERGED on 2 processes: evaluation: what rank 0 printed differs" in out


def test_fabric_joins_a_parameter_list_laid_out_one_per_line():
    source = textwrap.dedent(
        """\
        import torch


        def train_fn(
            model,
            optimizer,
        ):
            for x in torch.randn(3, 2, 4):
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()


        def main():
            model = torch.nn.Linear(4, 1)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            for epoch in range(2):
                train_fn(
                    model,
                    optimizer,
                )


        main()
        """
    )
    code = convert_source(source, target="fabric").code
    assert "    optimizer,\n    fabric,\n):" in code
    assert "            optimizer,\n            fabric,\n        )" in code
