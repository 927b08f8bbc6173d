"""Patterns about the shape of the loops: model mode switches, evaluation every k batches, early
stopping by hand, full-batch loops."""

import textwrap

import pytest

from tests.patterns.snippets import STEP, changes, convert, declined, hook, script, trainer_options

VAL_SETUP = "val_loader = torch.utils.data.DataLoader(torch.randn(16, 4), batch_size=8)"
EVALUATE = """\
model.eval()
total = 0.0
with torch.no_grad():
    for v in val_loader:
        total += model(v).sum().item()
print(total)
model.train()
"""


def test_mode_switches_are_lightnings():
    result = convert(script(setup=VAL_SETUP, epoch_start="model.train()\n", epoch_end=EVALUATE))
    assert not declined(result), result.report.text()
    assert ".train()" not in result.code.split("class Lit")[1]
    assert ".eval()" not in result.code


def test_an_evaluation_in_training_mode_is_declined_for_a_dropout_model():
    source = script(setup=VAL_SETUP, epoch_end=EVALUATE.replace("model.eval()\n", ""))
    source = source.replace("nn.Linear(4, 1)", "nn.Sequential(nn.Linear(4, 1), nn.Dropout(0.1))")
    assert "training mode" in declined(convert(source))


def test_evaluation_every_k_batches_becomes_val_check_interval():
    batch = STEP + "if (i + 1) % 2 == 0:\n" + textwrap.indent(EVALUATE, "    ") + "\n"
    result = convert(script(batch, setup=VAL_SETUP))
    assert not declined(result), result.report.text()
    assert trainer_options(result)["val_check_interval"] == "2"
    assert "total" in hook(result, "validation_step")


def test_other_code_with_an_evaluation_inside_the_batch_loop_is_declined():
    body = textwrap.indent(EVALUATE + "print(i)\n", "    ")
    batch = STEP + "if (i + 1) % 2 == 0:\n" + body + "\n"
    assert "other code runs with the evaluation" in declined(
        convert(script(batch, setup=VAL_SETUP))
    )


EARLY = (
    EVALUATE
    + """\
if total < best:
    best = total
    bad = 0
else:
    bad += 1
    if bad > 2:
        break
"""
)


def test_a_patience_break_becomes_should_stop():
    result = convert(script(setup=VAL_SETUP + "\nbest = float('inf')\nbad = 0", epoch_end=EARLY))
    assert not declined(result), result.report.text()
    # the patience check reads the evaluation's results: it ends validation, during fit only
    end = hook(result, "on_validation_epoch_end")
    assert 'if self.trainer.state.fn == "fit" and not self.trainer.sanity_checking:' in end
    assert "self.trainer.should_stop = True" in end
    assert hook(result, "on_train_epoch_end") is None
    assert any(c.startswith("early stopping") for c in changes(result))


def test_a_break_in_the_middle_of_the_epoch_is_declined():
    epoch_end = "if DONE:\n    break\nprint(epoch)\n"
    assert "`break`" in declined(convert(script(setup="DONE = False", epoch_end=epoch_end)))


FULL_BATCH = """\
import torch
from torch import nn

X, Y = torch.randn(16, 4), torch.randn(16, 1)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
{outer}for t in range(100):
{indent}    optimizer.zero_grad()
{indent}    loss = nn.functional.mse_loss(model(X), Y)
{indent}    loss.backward()
{indent}    optimizer.step()
"""


def test_a_full_batch_loop_gets_a_one_batch_loader():
    result = convert(FULL_BATCH.format(outer="", indent=""))
    assert not declined(result), result.report.text()
    assert trainer_options(result)["max_epochs"] == "100"
    assert (
        "step_loader = torch.utils.data.DataLoader([0], generator=torch.Generator())" in result.code
    )


def test_a_range_loop_inside_another_loop_is_a_loader_of_its_steps():
    # the outer loop counts epochs, the range the steps of each: one item per step
    result = convert(FULL_BATCH.format(outer="for run in range(2):\n    ", indent="    "))
    assert not declined(result), result.report.text()
    assert trainer_options(result)["max_epochs"] == "2"
    assert "list(range(100)), batch_size=None" in result.code


@pytest.mark.parametrize(
    "shape", ["", "for t in range(3):\n    print(t)\n"], ids=["nothing", "no training"]
)
def test_no_training_loop_is_declined(shape):
    assert "no training loop" in declined(convert("import torch\n" + shape))


PARAMETER_BAR = """\
import sys
import torch
from torch import nn
from tqdm import tqdm


def train_one_epoch(model, optimizer, data_loader, epoch):
    data_loader = tqdm(data_loader, file=sys.stdout)
    for step, x in enumerate(data_loader):
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
        data_loader.desc = "[epoch {}] loss {:.3f}".format(epoch, loss.item())


model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
for epoch in range(2):
    train_one_epoch(model, optimizer, loader, epoch)
"""


def test_a_parameter_rebound_to_a_progress_bar_over_itself_is_the_loader():
    result = convert(PARAMETER_BAR)
    assert not declined(result), result.report.text()
    assert "tqdm(" not in result.code and ".desc" not in result.code
    assert "train_dataloaders=loader" in result.code


@pytest.mark.parametrize(
    "change",
    [
        (
            "    data_loader = tqdm(data_loader, file=sys.stdout)\n",
            "    if epoch:\n        data_loader = tqdm(data_loader, file=sys.stdout)\n",
        ),
        ("tqdm(data_loader, file=sys.stdout)", "tqdm(list(data_loader))"),
    ],
    ids=["under an if", "over something else"],
)
def test_other_rebindings_of_a_parameter_still_decline(change):
    assert "assigns to parameter 'data_loader'" in declined(convert(PARAMETER_BAR.replace(*change)))


def test_an_evaluation_loop_s_index_read_after_it_under_an_if_is_that_loop_s():
    """`for j, data in enumerate(valid_loader)` under `if (epoch + 1) % k == 0:`, then
    `print(j + 1)`: the evaluation stays in on_train_epoch_end with its own `j`."""
    evaluation = (
        "if (epoch + 1) % 2 == 0:\n"
        "    with torch.no_grad():\n"
        "        for j, v in enumerate(loader):\n"
        "            model(v)\n"
        "        print('validated', j + 1)\n"
    )
    result = convert(script(epoch_end=evaluation))
    assert not declined(result), result.report.text()
    assert "self.print('validated', j + 1)" in hook(result, "on_train_epoch_end")


FULL_BATCH_STOP = """\
import torch
from torch import nn

x = torch.randn(16, 2)
y = (x[:, 0] > 0).float()
model = nn.Linear(2, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for t in range(100):
    loss = nn.functional.binary_cross_entropy_with_logits(model(x).squeeze(), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if loss.item() < 0.3:
        break
"""


def test_a_break_ending_a_full_batch_round_stops_the_trainer():
    result = convert(FULL_BATCH_STOP)
    assert not declined(result), result.report.text()
    assert "self.trainer.should_stop = True" in hook(result, "training_step")
    assert "y.to(self.device)" in hook(result, "training_step")  # a comparison is a tensor


def test_a_break_in_the_middle_of_a_full_batch_round_is_declined():
    source = FULL_BATCH_STOP.replace(
        "    if loss.item() < 0.3:\n        break\n",
        "    if loss.item() < 0.3:\n        break\n    print(t)\n",
    )
    assert "break" in declined(convert(source))
