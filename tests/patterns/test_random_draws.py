"""Random draws before a loop over a DataLoader: the loop started its iterator (which draws the
loader's seed from torch's global generator) after them; Lightning starts it before the stage's
epoch-start hook, so a draw or reseed there declines, and anything else converts."""

import textwrap

import pytest

from tests.patterns.snippets import SCRIPT, STEP, convert, declined, hook, script

REASON = "draws from (or reseeds) torch's global random generator"


@pytest.mark.parametrize(
    "epoch_start",
    [
        "torch.manual_seed(epoch)\n",
        "noise = torch.randn(4)\n",
        "noise = torch.empty(4).normal_()\n",
        "torch.nn.init.xavier_uniform_(model.weight)\n",
        "noise = torch.nn.functional.dropout(torch.ones(4))\n",
    ],
    ids=["reseed", "draw", "in-place fill", "initialiser", "functional dropout"],
)
def test_a_global_draw_at_the_epochs_start_declines(epoch_start):
    result = convert(script(epoch_start=epoch_start))
    assert REASON in declined(result)
    assert "Lightning starts the first epoch's iterator" in declined(result)


@pytest.mark.parametrize(
    "setup, epoch_start",
    [
        ("import random\nitems = [1, 2]", "random.shuffle(items)\n"),
        ("g = torch.Generator()", "noise = torch.randn(4, generator=g)\n"),
        ("", "noise = torch.zeros(4)\n"),
    ],
    ids=["python's random", "own generator", "no draw"],
)
def test_other_code_at_the_epochs_start_still_converts(setup, epoch_start):
    result = convert(script(setup=setup, epoch_start=epoch_start))
    assert not declined(result), result.report.text()
    assert hook(result, "on_train_epoch_start")


TEST = """
def test():
    model.eval()
    {draw}
    with torch.no_grad():
        for x in loader:
            print(model(x).sum().item())


test()
"""


def test_a_draw_before_the_test_loop_in_its_function_declines():
    source = script() + TEST.format(draw="torch.manual_seed(1)")
    assert "before on_test_epoch_start" in declined(convert(source))


def test_a_draw_before_the_test_stays_before_trainer_test():
    source = script() + "torch.manual_seed(1)\n" + TEST.format(draw="pass")
    result = convert(source)
    assert not declined(result), result.report.text()
    assert result.code.index("torch.manual_seed(1)") < result.code.index("trainer.test(")


def test_a_draw_in_the_batch_loop_converts():
    result = convert(script(batch="noise = torch.randn(4)\n" + STEP))
    assert not declined(result), result.report.text()


LOADER = "loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)"


def with_loader(source: str, arguments: str) -> str:
    return source.replace(LOADER, f"loader = torch.utils.data.DataLoader({arguments})")


def test_an_unshuffled_loader_with_its_own_generator_converts_with_a_draw_before_it():
    source = script(epoch_start="torch.manual_seed(epoch)\n")
    result = convert(with_loader(source, "torch.randn(32, 4), generator=torch.Generator()"))
    assert not declined(result), result.report.text()
    assert hook(result, "on_train_epoch_start") == "torch.manual_seed(self.current_epoch)"


@pytest.mark.parametrize("shuffle", ["True", "args.shuffle"])
def test_a_loader_shuffling_with_its_own_generator_declines(shuffle):
    arguments = f"torch.randn(32, 4), shuffle={shuffle}, generator=torch.Generator()"
    result = convert(with_loader(script(), arguments))
    assert "shuffles with a generator of its own" in declined(result)


def test_a_loader_with_its_own_generator_shuffling_for_one_pass_converts():
    one_pass = SCRIPT.split("for epoch")[0] + "for x in loader:\n" + textwrap.indent(STEP, "    ")
    arguments = "torch.randn(32, 4), shuffle=True, generator=torch.Generator()"
    result = convert(with_loader(one_pass.format(setup=""), arguments))
    assert not declined(result), result.report.text()
