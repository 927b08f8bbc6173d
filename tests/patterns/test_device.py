"""Tensors in the hooks follow the module's device; a function of the script the hooks call that
uses CPU tensors keeps the Trainer on the CPU where the script chose no device."""

import pytest

from tests.patterns.snippets import STEP, changes, convert, declined, hook, script, trainer_options

BATCH_WITH_NOISE = "x = x + torch.randn(8, 4)\n" + STEP


def test_a_tensor_the_hooks_make_moves_to_the_module_device():
    result = convert(script(batch=BATCH_WITH_NOISE))
    assert not declined(result), result.report.text()
    assert "torch.randn(8, 4).to(self.device)" in hook(result, "training_step")
    assert "accelerator" not in trainer_options(result)


@pytest.mark.parametrize(
    "helper",
    [
        "noise = torch.randn(8, 4)\n\n\ndef jitter(x):\n    return x + noise\n",
        "def jitter(x):\n    return x + torch.randn(8, 4)\n",
        "def make():\n    return torch.zeros(8, 4)\n\n\ndef jitter(x):\n    return x + make()\n",
    ],
    ids=["reads a script tensor", "makes a tensor", "through another function"],
)
def test_a_called_function_with_cpu_tensors_keeps_the_trainer_on_the_cpu(helper):
    source = script(batch="x = jitter(x)\n" + STEP).replace(
        "loader = ", helper + "\n\nloader = ", 1
    )
    result = convert(source)
    assert not declined(result), result.report.text()
    assert trainer_options(result)["accelerator"] == '"cpu"'
    assert any("jitter()" in c or "make()" in c for c in changes(result))


@pytest.mark.parametrize(
    "helper",
    [
        "def jitter(x):\n    return x + torch.randn(8, 4, device=x.device)\n",
        "def jitter(x):\n    return x + torch.randn(8, 4).to(x.device)\n",
        "def jitter(x):\n    return x * 2\n",
    ],
    ids=["device given", "moved", "no tensors"],
)
def test_a_called_function_without_cpu_tensors_leaves_the_accelerator(helper):
    source = script(batch="x = jitter(x)\n" + STEP).replace(
        "loader = ", helper + "\n\nloader = ", 1
    )
    result = convert(source)
    assert not declined(result), result.report.text()
    assert "accelerator" not in trainer_options(result)


EVALUATE = """\
def evaluate(model, loader):
    total = 0.0
    with torch.no_grad():
        for x in loader:
            total += model({x}).sum().item()
    return total


"""


@pytest.mark.parametrize(
    "batch, pinned",
    [("x", True), ("x.to(next(model.parameters()).device)", False)],
    ids=["batches passed as they come", "batches moved"],
)
def test_an_evaluation_function_over_a_loader_keeps_the_trainer_on_the_cpu(batch, pinned):
    """Lightning moves the model, not the batches of a loader the script's own function iterates."""
    source = script(epoch_end="print(evaluate(model, loader))\n").replace(
        "loader = ", EVALUATE.format(x=batch) + "loader = ", 1
    )
    result = convert(source)
    assert not declined(result), result.report.text()
    assert "evaluate(self.model, " in hook(result, "on_train_epoch_end")
    assert (trainer_options(result).get("accelerator") == '"cpu"') is pinned


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ('x = x.to("cuda")\n', "loss = "),  # the batch's own move goes
        ('x = x.to(torch.device("cuda:0"))\n', "loss = "),
        ('noise = torch.ones(4, device="cuda")\n', "torch.ones(4, device=self.device)"),
        ('noise = torch.ones(4).to("cuda:1")\n', "torch.ones(4).to(self.device)"),
        ("noise = torch.ones(4).cuda(0)\n", "torch.ones(4).to(self.device)"),
        ('gpu = torch.device("cuda:0")\nnoise = torch.ones(4).to(gpu)\n', "to(self.device)"),
    ],
)
def test_a_device_named_literally_in_the_hooks_is_the_modules(statement, expected):
    result = convert(script(batch=statement + STEP))
    assert not declined(result), result.report.text()
    step = hook(result, "training_step")
    assert step.startswith(expected) or expected in step, step
    assert "cuda" not in result.code.split("class Lit")[1], result.code


def test_a_device_chosen_below_the_training_is_not_given_to_the_trainer():
    """A tutorial's later GPU section binds `device` after it trained: the Trainer, created
    where the loop was, could not read it yet (pytorch/tutorials' cifar10_tutorial.py)."""
    source = script() + 'device = torch.device("cpu")\nprint(device)\n'
    result = convert(source)
    assert not declined(result), result.report.text()
    assert "accelerator" not in trainer_options(result)
