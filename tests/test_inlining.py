"""A training function that receives what it trains takes the place of its calls
(converter/targets/trainer/inlining.py): what converts, where the report points, and each reason
it is refused. The golden case `engine_functions` trains two models through train() and
train_step(), both inlined at each call, and proves it (tests/test_golden_training.py)."""

from __future__ import annotations

import textwrap

import pytest

from converter import convert_source

HEAD = """\
import torch
from torch import nn

torch.manual_seed(0)
loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1)), batch_size=8
)


"""
TRAIN = """\
def train(model, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses


"""
CALLER = """\
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
history = train(model, optimizer, 2)
print(len(history))
"""


def convert(text: str):
    return convert_source(HEAD + textwrap.dedent(text), filename="t.py")


def declined(text: str) -> str:
    result = convert(text)
    assert not result.changed, result.code
    return " | ".join(e.message for e in result.report.declined)


def test_a_function_holding_the_epoch_loop_takes_the_place_of_its_call():
    result = convert(TRAIN + CALLER)
    assert result.changed, result.report.text()
    assert "def train(" not in result.code
    assert "history = losses" in result.code  # what it returned, assigned where it was called
    inlined = [e for e in result.report.changed if e.kind == "inlined"]
    assert [(e.line, e.message[:31]) for e in inlined] == [(24, "train() (line 10) takes the pla")]
    assert {e.line for e in result.report.changed} <= set(range(1, 25))


def test_a_parameter_passed_another_name_reads_that_name():
    result = convert(
        TRAIN.replace("(model, optimizer", "(net, opt")
        .replace("model(x)", "net(x)")
        .replace("optimizer.", "opt.")
        + CALLER
    )
    assert result.changed, result.report.text()
    assert "self.model(x)" in result.code


def test_a_name_the_caller_reuses_is_fine_when_bound_again_before_it_is_read():
    reuse = CALLER + "for x in range(3):\n    print(x)\nloss = 0.0\nprint(loss)\n"
    assert convert(TRAIN + reuse).changed


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda t: t.replace(
                "    losses = []\n", "    losses = []\n    if epochs == 0:\n        return []\n"
            ),
            "it returns before its end",
        ),
        (lambda t: t + "print(train)\n", "it is named other than in calls"),
    ],
)
def test_a_function_that_cannot_take_the_place_of_its_call_says_why(change, reason):
    text = change(TRAIN) + CALLER
    assert "train() cannot take the place of its calls: " + reason in declined(text)


MAIN = 'if __name__ == "__main__":\n' + textwrap.indent(CALLER, "    ")


def test_a_call_in_the_main_guard_converts_when_its_locals_are_bound_again_before_reads():
    bound = MAIN + "    loss = None\n    print(loss)\n"
    assert convert(TRAIN + bound).changed


def test_a_read_after_the_main_guard_of_a_local_the_copy_binds_names_it_apart():
    result = convert(TRAIN + MAIN + "print(losses)\n")
    assert result.changed, result.report.text()
    assert "train_losses = []" in result.code and "\nprint(losses)\n" in result.code


def test_a_read_in_a_loop_around_the_call_names_the_local_apart():
    looped = "for lr in (0.1, 0.2):\n    print(losses if lr > 1 else lr)\n" + textwrap.indent(
        CALLER.replace("lr=0.1", "lr=lr"), "    "
    )
    result = convert(TRAIN + looped)
    assert result.changed, result.report.text()
    assert "train_losses = []" in result.code and "print(losses if lr > 1 else lr)" in result.code


def test_a_decorated_function_is_not_inlined():
    text = "import functools\n\n\n@functools.lru_cache\n" + TRAIN + CALLER
    assert "train() is decorated: its body cannot move into Lightning's hooks" in declined(text)


def test_a_local_the_caller_uses_is_named_apart_in_the_copy():
    """The caller's own `loss` keeps its value: the copy's is `train_loss` (the case verifies
    EQUIVALENT, with two calls, on 2 processes too)."""
    caller = 'loss = "the caller\'s"\n' + CALLER + "print(loss)\n"
    result = convert(TRAIN + caller)
    assert result.changed, result.report.text()
    assert "train_loss = nn.functional.mse_loss(self.model(x), y)" in result.code
    assert "\nprint(loss)\n" in result.code


def test_a_global_the_calling_function_binds_is_refused():
    caller = "def main():\n    loader = None\n" + textwrap.indent(CALLER, "    ") + "\n\nmain()\n"
    reasons = declined(TRAIN + caller)
    assert "it reads the global `loader`, which main() binds" in reasons


def test_a_call_inside_an_expression_is_refused():
    caller = CALLER.replace(
        "history = train(model, optimizer, 2)", "print(train(model, optimizer, 2))"
    )
    assert "it is called inside an expression" in declined(TRAIN + caller)


def test_a_function_never_called_here_says_where_to_convert():
    reasons = declined(TRAIN)
    assert "it is never called in this file: convert the script that calls it" in reasons


def test_a_progress_bar_the_copies_bind_each_is_still_a_bar():
    """train_step() holds its own bar over `enumerate(loader)`; copied for each of two runs, the
    bar is bound twice, and each copy's loop still iterates the loader (verified EQUIVALENT)."""
    step = """\
    from tqdm import tqdm


    def train_step(model, optimizer):
        bar = tqdm(enumerate(loader), total=len(loader))
        for i, (x, y) in bar:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            bar.set_postfix(loss=loss.item())
        return loss.item()


    """
    runs = "".join(
        f"model_{k} = nn.Linear(4, 1)\n"
        f"optimizer = torch.optim.SGD(model_{k}.parameters(), lr=0.1)\n"
        f"for epoch in range(2):\n    last = train_step(model_{k}, optimizer)\n"
        for k in range(2)
    )
    result = convert(textwrap.dedent(step) + runs)
    assert result.changed, result.report.text()
    assert "tqdm(" not in result.code and "set_postfix" not in result.code
